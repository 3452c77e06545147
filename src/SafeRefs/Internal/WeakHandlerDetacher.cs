using SafeRefs.Subscriptions.Internal;

namespace SafeRefs.Internal;

/// <summary>Detaches an owner-bound entry of a weak event: slot0 is the <see cref="WeakHandlerList"/>, slot1 the entry.</summary>
internal sealed class WeakHandlerDetacher : Detacher
{
    internal static readonly WeakHandlerDetacher Instance = new();

    private WeakHandlerDetacher()
    {
    }

    public override void Detach(object? slot0, object? slot1, object? slot2)
    {
        ((WeakHandlerList)slot0!).Dispose((WeakHandlerEntry)slot1!);
    }
}
