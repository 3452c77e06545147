using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>Disposes an <see cref="IDisposable"/> (an observable subscription): slot0 = the disposable.</summary>
internal sealed class DisposableDetacher : Detacher
{
    public static readonly DisposableDetacher Uncounted = new(counted: false);

    public static readonly DisposableDetacher Counted = new(counted: true);

    private readonly bool _counted;

    private DisposableDetacher(bool counted)
    {
        _counted = counted;
    }

    public override void Detach(object? slot0, object? slot1, object? slot2)
    {
        if (_counted)
        {
            Metrics.SubscriptionInstruments.Detached();
        }

        ((IDisposable)slot0!).Dispose();
    }
}
