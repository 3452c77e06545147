using System.Runtime.InteropServices;

namespace SafeRefs.Events.Internal;

/// <summary>
/// One element of a weak event's snapshot: the entry plus, for <c>Add</c>-mode entries with a weak target, the weak
/// handle to the delegate, so that a raise reaches the delegate without touching the entry.
/// </summary>
/// <remarks>
/// Copied by value into every new snapshot. A raise reads the handle only while the list counts it (see
/// <see cref="WeakHandlerList"/>): the list frees it only after dropping the entry, once no raise is counted.
/// </remarks>
internal readonly struct HandlerSlot
{
    /// <summary>Initializes a new instance of the <see cref="HandlerSlot"/> struct.</summary>
    internal HandlerSlot(WeakHandlerEntry entry)
    {
        _entry = entry;
        if (entry.Kind == WeakHandlerEntry.EntryKind.WeakTarget)
        {
            _weak = entry.WeakHandle;
        }
    }

    private readonly WeakGCHandle<object> _weak;
    private readonly WeakHandlerEntry _entry;

    /// <summary>The weak handle to the delegate of a <see cref="WeakHandlerEntry.EntryKind.WeakTarget"/> entry; otherwise unallocated.</summary>
    internal WeakGCHandle<object> Weak => _weak;

    /// <summary>The entry.</summary>
    internal WeakHandlerEntry Entry => _entry;
}
