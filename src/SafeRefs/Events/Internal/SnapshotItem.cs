namespace SafeRefs.Events.Internal;

/// <summary>
/// One element of a weak event's snapshot: the entry plus, for <c>Add</c>-mode entries with a weak target, the weak
/// reference to the delegate, so that a raise reaches the delegate without touching the entry.
/// </summary>
/// <remarks>Copied by value into every new snapshot. The weak reference's handle belongs to the runtime (freed once
/// the reference is unreachable), so a raise holding an old snapshot can always read it.</remarks>
internal readonly struct SnapshotItem
{
    /// <summary>Initializes a new instance of the <see cref="SnapshotItem"/> struct.</summary>
    internal SnapshotItem(WeakHandlerEntry entry)
    {
        Entry = entry;
        Added = (entry as WeakTargetHandlerEntry)?.Added;
    }

    /// <summary>The weak reference to the delegate of a <see cref="WeakTargetHandlerEntry"/>; otherwise <see langword="null"/>.</summary>
    internal WeakReference<Delegate>? Added { get; }

    /// <summary>The entry.</summary>
    internal WeakHandlerEntry Entry { get; }
}
