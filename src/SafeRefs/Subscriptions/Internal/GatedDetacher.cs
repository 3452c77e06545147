using SafeRefs.Diagnostics.Internal;
using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>Detaches a <see cref="GatedSubscription"/> (slot0): closes its gate, then undoes the attachment at the source.</summary>
internal sealed class GatedDetacher : Detacher
{
    public static readonly GatedDetacher Uncounted = new(counted: false);

    public static readonly GatedDetacher Counted = new(counted: true);

    private readonly bool _counted;

    private GatedDetacher(bool counted)
    {
        _counted = counted;
    }

    public static GatedDetacher For(bool counted) => counted ? Counted : Uncounted;

    public override void Detach(object? slot0, object? slot1, object? slot2)
    {
        var token = (GatedSubscription)slot0!;
        token.CloseGate();
        if (_counted)
        {
            Metrics.SubscriptionInstruments.Detached();
        }

        token.DetachSource();
    }

    public override ValueTask WhenCallbacksIdleAsync(object? slot0, object? slot1, object? slot2) =>
        ((GatedSubscription)slot0!).WhenIdleAsync();
}
