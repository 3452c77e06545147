using SafeRefs.Diagnostics.Internal;
using SafeRefs.Events;
using SafeRefs.Subscriptions;

namespace SafeRefs.Events.Internal;

/// <summary>
/// The copy-on-write entry array behind <see cref="Events.WeakEvent{TArgs}"/> and
/// <see cref="Events.AsyncWeakEvent{TArgs}"/>. Readers take <see cref="Snapshot"/> without locking; writers copy
/// under a lock and publish a new immutable array.
/// </summary>
/// <remarks>
/// Dead entries (target or owner collected) and removed ones (disposed tokens) are bounded: every copy drops them,
/// a disposal compacts once removed entries exceed max(4, 25 %) of the array, a raise that met that many dead entries
/// compacts, and after each gen-2 collection <see cref="WeakHandlerPurger"/> compacts on a thread-pool thread.
/// </remarks>
internal sealed class WeakHandlerList
{
    private static readonly HandlerSlot[] Empty = [];

    private readonly Lock _lock = new();
    private readonly object? _source;
    private readonly ListenerBudget? _budget;
    private readonly string? _name;
    private readonly Type? _declaringType;
    private readonly Metrics.WeakEventInstruments _metrics;
    private readonly IHandlerSnapshotSink? _sink;
    private HandlerSlot[] _entries = Empty;
    private int _removedStored;
    private bool _registeredForPurge;
    private LiveCountTracker? _tracker;

    /// <summary>Initializes a new instance of the <see cref="WeakHandlerList"/> class.</summary>
    /// <param name="source">The event object, the source counted in the options' budget.</param>
    /// <param name="options">The event's options: budget (counts live entries), name and declaring type (reported by
    /// the budget and the metrics).</param>
    /// <param name="metrics">The instruments that count the handlers.</param>
    /// <param name="sink">Receives every new snapshot, under the list's lock, so that a raise reads it with one field load.</param>
    internal WeakHandlerList(object source, WeakEventOptions? options, Metrics.WeakEventInstruments metrics, IHandlerSnapshotSink? sink = null)
    {
        _metrics = metrics;
        _sink = sink;
        _budget = options?.Budget;
        // Kept only for the budget: a subscription token references the list and must not keep more alive than needed.
        _source = _budget is null ? null : source;
        _name = options?.Name;
        _declaringType = options?.DeclaringType;
    }

    /// <summary>Gets the event name (logs of failed sweeps).</summary>
    internal string? Name => _name;

    /// <summary>Gets the current immutable snapshot (never modified after publication).</summary>
    internal HandlerSlot[] Snapshot => Volatile.Read(ref _entries);

    /// <summary>Gets the number of stored entries, live or not (for tests of the dead-entry bound).</summary>
    internal int StoredCount => Snapshot.Length;

    /// <summary>Gets the number of entries whose handler can still run.</summary>
    internal int LiveCount
    {
        get
        {
            var count = 0;
            foreach (var slot in Snapshot)
            {
                if (slot.Entry.IsAlive)
                {
                    count++;
                }
            }

            return count;
        }
    }

    /// <summary>The compaction threshold for <paramref name="length"/> stored entries: max(4, 25 %).</summary>
    internal static int Slack(int length) => Math.Max(4, length / 4);

    /// <summary>
    /// Adds an <c>Add</c>-mode handler, one entry per part of a multicast delegate. Every part is checked before any is
    /// added: a refused closure adds nothing.
    /// </summary>
    /// <exception cref="ArgumentException">A part is an unrooted closure and <paramref name="policy"/> refuses it.</exception>
    internal void AddHandler(Delegate handler, ClosurePolicy policy, string paramName)
    {
        if (handler.HasSingleTarget)
        {
            Add(WeakHandlerEntry.ForAdd(handler, policy, paramName));
            return;
        }

        var entries = new List<WeakHandlerEntry>();
        foreach (var single in Delegate.EnumerateInvocationList(handler))
        {
            entries.Add(WeakHandlerEntry.ForAdd(single, policy, paramName));
        }

        foreach (var entry in entries)
        {
            Add(entry);
        }
    }

    /// <summary>Appends an entry, dropping dead and removed entries from the copy.</summary>
    internal void Add(WeakHandlerEntry entry)
    {
        if (_budget is not null)
        {
            // Throws ListenerLimitExceededException (count unchanged) when the budget refuses: nothing is attached.
            entry.SetBudgetCount(_budget.Acquire(_source!, _name, _declaringType));
        }

        var register = false;
        var purged = 0;
        lock (_lock)
        {
            // Counted whether or not anyone listens, so that a listener attaching late reads the exact number.
            entry.MarkCounted();
            (_tracker ??= _metrics.TrackHandlers(this, _name)).Increment();

            var old = _entries;

            // Size the copy without the entries disposed since the last copy (usually the only dead ones). The count is
            // only a hint (a disposal racing with this copy may be counted or not): a live entry is never dropped for
            // lack of room, and an entry whose target was collected leaves the copy one shorter, trimmed below.
            var copy = new HandlerSlot[Math.Clamp(old.Length - Volatile.Read(ref _removedStored), 0, old.Length) + 1];
            var n = 0;
            foreach (var existing in old)
            {
                if (existing.Entry.IsDead)
                {
                    purged += Release(existing.Entry);
                    continue;
                }

                if (n == copy.Length - 1)
                {
                    Array.Resize(ref copy, old.Length + 1);
                }

                copy[n++] = existing;
            }

            copy[n++] = new HandlerSlot(entry);
            if (n != copy.Length)
            {
                Array.Resize(ref copy, n);
            }

            Volatile.Write(ref _removedStored, 0);
            Publish(copy);
            if (entry.IsWeak && !_registeredForPurge)
            {
                _registeredForPurge = true;
                register = true;
            }

            RecordPurged(purged);
        }

        if (register)
        {
            WeakHandlerPurger.Register(this);
        }
    }

    /// <summary>
    /// Removes the last contiguous run of <c>Add</c>-mode entries whose live handlers equal <paramref name="run"/>
    /// (the invocation list of the delegate being removed), as <see cref="Delegate.Remove"/> does. Removed with
    /// snapshot semantics: a raise already iterating an older snapshot still invokes it, as with a multicast delegate.
    /// </summary>
    internal bool RemoveLast(Delegate[] run)
    {
        if (run.Length == 1)
        {
            return RemoveLast(run[0]);
        }

        lock (_lock)
        {
            var old = _entries;
            var indices = new List<int>(old.Length);
            for (var i = 0; i < old.Length; i++)
            {
                if (old[i].Entry.Kind is WeakHandlerEntry.EntryKind.Strong or WeakHandlerEntry.EntryKind.WeakTarget && !old[i].Entry.IsDead)
                {
                    indices.Add(i);
                }
            }

            for (var start = indices.Count - run.Length; start >= 0; start--)
            {
                if (Matches(old, indices, start, run))
                {
                    var drop = new HashSet<int>();
                    for (var k = 0; k < run.Length; k++)
                    {
                        drop.Add(indices[start + k]);
                    }

                    var copy = new HandlerSlot[old.Length - run.Length];
                    var n = 0;
                    for (var i = 0; i < old.Length; i++)
                    {
                        if (!drop.Contains(i))
                        {
                            copy[n++] = old[i];
                        }
                        else
                        {
                            _ = Release(old[i].Entry);
                        }
                    }

                    Publish(copy);
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Removes the last live <c>Add</c>-mode entry whose handler equals <paramref name="handler"/>.</summary>
    internal bool RemoveLast(Delegate handler)
    {
        lock (_lock)
        {
            var old = _entries;
            for (var i = old.Length - 1; i >= 0; i--)
            {
                var entry = old[i].Entry;
                if (entry.Kind is WeakHandlerEntry.EntryKind.Strong or WeakHandlerEntry.EntryKind.WeakTarget
                    && entry.HandlerOrNull is { } stored && stored.Equals(handler))
                {
                    var copy = old.Length == 1 ? Empty : new HandlerSlot[old.Length - 1];
                    Array.Copy(old, 0, copy, 0, i);
                    Array.Copy(old, i + 1, copy, i, old.Length - i - 1);
                    Publish(copy);
                    _ = Release(entry);
                    return true;
                }
            }

            return false;
        }
    }

    private static bool Matches(HandlerSlot[] entries, List<int> indices, int start, Delegate[] run)
    {
        for (var k = 0; k < run.Length; k++)
        {
            if (entries[indices[start + k]].Entry.HandlerOrNull is not { } handler || !handler.Equals(run[k]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Removes a subscribed entry in O(1) amortized: marks it removed (no raise invokes it after this returns) and
    /// compacts only when removed entries exceed the slack.
    /// </summary>
    internal void Dispose(WeakHandlerEntry entry)
    {
        if (!entry.MarkRemoved())
        {
            return;
        }

        _ = Release(entry);

        // Lock only when a compaction is due: a disposal is otherwise two interlocked operations.
        if (Interlocked.Increment(ref _removedStored) > Slack(Volatile.Read(ref _entries).Length))
        {
            lock (_lock)
            {
                if (Volatile.Read(ref _removedStored) > Slack(_entries.Length))
                {
                    RecordPurged(CompactLocked());
                }
            }
        }
    }

    /// <summary>Called by a raise that met <paramref name="deadSeen"/> dead or removed entries.</summary>
    internal void OnDeadSeen(int deadSeen, int snapshotLength)
    {
        if (deadSeen > Slack(snapshotLength))
        {
            Purge();
        }
    }

    /// <summary>Drops every dead or removed entry.</summary>
    internal void Purge()
    {
        lock (_lock)
        {
            RecordPurged(CompactLocked());
        }
    }

    /// <summary>
    /// Records purged entries; called under the lock, like the handler counts they were subtracted from, so that once
    /// a call that purged returns, every observer sees both instruments agree.
    /// </summary>
    private void RecordPurged(int purged)
    {
        if (purged != 0 && _metrics.Purged.Enabled)
        {
            _metrics.Purged.Add(purged, Metrics.WeakEventInstruments.NameTag(_name));
        }
    }

    /// <summary>Releases the entry's budget slot and its handler count; returns 1 if it was collected (not removed).</summary>
    private int Release(WeakHandlerEntry entry)
    {
        entry.ReleaseBudget();
        if (entry.TryUncount())
        {
            _tracker?.Decrement();
        }

        return entry.IsRemoved ? 0 : 1;
    }

    private int CompactLocked()
    {
        var old = _entries;
        var live = 0;
        foreach (var slot in old)
        {
            if (!slot.Entry.IsDead)
            {
                live++;
            }
        }

        Volatile.Write(ref _removedStored, 0);
        if (live == old.Length)
        {
            return 0;
        }

        var copy = live == 0 ? Empty : new HandlerSlot[live];
        var n = 0;
        var purged = 0;
        foreach (var slot in old)
        {
            if (n < live && !slot.Entry.IsDead)
            {
                copy[n++] = slot;
            }
            else
            {
                purged += Release(slot.Entry);
            }
        }

        if (n != live)
        {
            // An entry died between the two passes: keep the shorter array.
            Array.Resize(ref copy, n);
        }

        Publish(copy);
        return purged;
    }

    /// <summary>Publishes a new snapshot; called under the lock.</summary>
    private void Publish(HandlerSlot[] snapshot)
    {
        Volatile.Write(ref _entries, snapshot);
        _sink?.Publish(snapshot);
    }
}
