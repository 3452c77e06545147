namespace SafeRefs.Internal;

/// <summary>Disposes an <see cref="IDisposable"/> (an observable subscription): slot0 = the disposable.</summary>
internal sealed class DisposableDetacher : Detacher
{
    public static readonly DisposableDetacher Instance = new();

    private DisposableDetacher()
    {
    }

    public override void Detach(object? slot0, object? slot1, object? slot2)
    {
        Metrics.SubscriptionInstruments.Detached();
        ((IDisposable)slot0!).Dispose();
    }
}
