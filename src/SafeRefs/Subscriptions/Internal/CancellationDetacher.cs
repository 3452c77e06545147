using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>Unregisters a cancellation callback: slot0 = the boxed <see cref="CancellationTokenRegistration"/>.</summary>
internal sealed class CancellationDetacher : Detacher
{
    public static readonly CancellationDetacher Uncounted = new(counted: false);

    public static readonly CancellationDetacher Counted = new(counted: true);

    private readonly bool _counted;

    private CancellationDetacher(bool counted)
    {
        _counted = counted;
    }

    public override void Detach(object? slot0, object? slot1, object? slot2)
    {
        if (_counted)
        {
            Metrics.SubscriptionInstruments.Detached();
        }

        ((CancellationTokenRegistration)slot0!).Unregister();
    }

    public override ValueTask WhenCallbacksIdleAsync(object? slot0, object? slot1, object? slot2) =>
        ((CancellationTokenRegistration)slot0!).DisposeAsync();
}
