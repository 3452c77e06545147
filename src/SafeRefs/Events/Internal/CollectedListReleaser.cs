namespace SafeRefs.Events.Internal;

/// <summary>
/// Frees the handles of the entries still registered in a <see cref="WeakHandlerList"/> when the list is collected (an
/// event dropped together with its handlers, the usual end of an event). Created with the list's first weak entry and
/// referenced by the list alone, so it becomes unreachable exactly when the list does.
/// </summary>
/// <remarks>
/// Two finalization passes, as the BCL's <see cref="System.Runtime.CompilerServices.ConditionalWeakTable{TKey, TValue}"/>
/// container does: a finalizable object that dies together with the event (and raises it, or disposes a token of it,
/// from its own finalizer) is queued with this object's first finalization, which only re-registers; until that
/// finalizer has run it keeps the list, and so this object, reachable, so the second finalization comes after it.
/// The price: a dropped list (with its event object) outlives its last reference by these two passes.
/// </remarks>
internal sealed class CollectedListReleaser
{
    private readonly WeakHandlerList _list;
    private bool _armed;

    /// <summary>Initializes a new instance of the <see cref="CollectedListReleaser"/> class.</summary>
    internal CollectedListReleaser(WeakHandlerList list) => _list = list;

    /// <summary>First pass: re-registers. Second pass: frees the list's handles.</summary>
    ~CollectedListReleaser()
    {
        if (!_armed)
        {
            _armed = true;
            GC.ReRegisterForFinalize(this);
            return;
        }

        _list.FreeAllOnCollection();
    }
}
