using SafeRefs.Diagnostics.Internal;

namespace SafeRefs.Events.Internal;

/// <summary>
/// A weak event's part of <c>saferefs.weak_event.handler.count</c>: the length of its published snapshot, which holds
/// every handler not yet removed, disposed or purged. Read when a listener collects; nothing is counted per handler.
/// </summary>
internal sealed class HandlerCount(WeakHandlerList list, KeyValuePair<string, object?> tag) : ObservedCount(tag)
{
    /// <inheritdoc/>
    internal override long Count => list.StoredCount;
}
