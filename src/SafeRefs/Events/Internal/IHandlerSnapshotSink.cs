namespace SafeRefs.Events.Internal;

/// <summary>Receives a <see cref="WeakHandlerList"/>'s snapshots (the event object, so that a raise reads one field).</summary>
internal interface IHandlerSnapshotSink
{
    /// <summary>Stores the new snapshot; called under the list's lock, in publication order.</summary>
    void Publish(SnapshotItem[] snapshot);
}
