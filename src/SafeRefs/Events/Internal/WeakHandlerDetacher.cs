using SafeRefs.Internal;

namespace SafeRefs.Events.Internal;

/// <summary>
/// Detaches an owner-bound entry of a weak event: slot0 is the <see cref="WeakHandlerList"/>, slot1 the entry.
/// <c>DisposeAsync</c> waits for the entry's running invocations (an async handler until its task completes).
/// </summary>
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

    public override ValueTask WhenCallbacksIdleAsync(object? slot0, object? slot1, object? slot2) => ((WeakHandlerEntry)slot1!).WhenIdleAsync();
}
