namespace SafeRefs.Internal;

/// <summary>Unregisters a cancellation callback: slot0 = the boxed <see cref="CancellationTokenRegistration"/>.</summary>
internal sealed class CancellationDetacher : Detacher
{
    public static readonly CancellationDetacher Instance = new();

    private CancellationDetacher()
    {
    }

    public override void Detach(object? slot0, object? slot1, object? slot2)
    {
        Metrics.SubscriptionInstruments.Detached();
        ((CancellationTokenRegistration)slot0!).Unregister();
    }

    public override ValueTask WhenCallbacksIdleAsync(object? slot0, object? slot1, object? slot2) =>
        ((CancellationTokenRegistration)slot0!).DisposeAsync();
}
