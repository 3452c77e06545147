using System.Diagnostics;
using System.Runtime.InteropServices;

namespace SafeRefs.Events.Internal;

/// <summary>
/// One element of a weak event's snapshot: the entry plus, for <c>Add</c>-mode entries with a weak target, the weak
/// handle to the delegate, so that a raise reaches the delegate without touching the entry.
/// </summary>
/// <remarks>
/// Copied by value into every new snapshot. A raise reads the handle only while the list counts it (see
/// <see cref="WeakHandlerList"/>): the list frees it only after dropping the entry, once no raise is counted. The copy
/// cannot see the free, so debug builds check the entry on every read (the poison check of this fast path).
/// </remarks>
internal readonly struct SnapshotItem
{
    /// <summary>Initializes a new instance of the <see cref="SnapshotItem"/> struct.</summary>
    internal SnapshotItem(WeakHandlerEntry entry)
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
    internal WeakGCHandle<object> Weak
    {
        get
        {
            Debug.Assert(!_weak.IsAllocated || !_entry.IsFreed, "a raise read the weak handle of a freed Add handler");
            return _weak;
        }
    }

    /// <summary>The entry.</summary>
    internal WeakHandlerEntry Entry => _entry;
}
