using SafeRefs.Diagnostics.Internal;
using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>Detaches a <see cref="GatedSubscription"/> (slot0) whose gate its dispose closed: undoes the attachment at the source.</summary>
internal sealed class GatedDetacher : Detacher
{
    public static readonly GatedDetacher Instance = new();

    public override void Detach(object? slot0, object? slot1, object? slot2)
    {
        Metrics.SubscriptionInstruments.Detached();
        ((GatedSubscription)slot0!).DetachSource();
    }

    public override ValueTask WhenCallbacksIdleAsync(object? slot0, object? slot1, object? slot2) =>
        ((GatedSubscription)slot0!).WhenIdleAsync();
}
