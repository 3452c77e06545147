using SafeRefs.Diagnostics.Internal;
using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>Detaches a <see cref="GatedSubscription"/> (arg0) whose gate its dispose closed: undoes the attachment at the source.</summary>
internal sealed class GatedDetacher : Detacher
{
    public static readonly GatedDetacher Instance = new();

    public override void Detach(object? arg0, object? arg1, object? arg2)
    {
        Metrics.SubscriptionInstruments.Detached();
        ((GatedSubscription)arg0!).DetachSource();
    }

    public override ValueTask WhenCallbacksIdleAsync(object? arg0, object? arg1, object? arg2) =>
        ((GatedSubscription)arg0!).WhenIdleAsync();
}
