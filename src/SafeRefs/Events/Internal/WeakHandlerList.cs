using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Events;
using SafeRefs.Internal;
using SafeRefs.Subscriptions;

namespace SafeRefs.Events.Internal;

/// <summary>
/// The copy-on-write entry array behind <see cref="Events.WeakEvent{TArgs}"/>, <see cref="WeakDelegateEvent{TDelegate}"/>
/// and <see cref="Events.AsyncWeakEvent{TArgs}"/>. Readers take <see cref="Snapshot"/> without locking; writers copy
/// under a lock and publish a new immutable array.
/// </summary>
/// <remarks>
/// <para><b>Handles.</b> Each weak entry owns its GC handles, freed exactly once, under this list's lock, by whoever
/// detaches it: a <c>Subscribe</c> entry's by whoever closes it, once no raise is between its check and its call
/// (<see cref="OwnerHandlerEntry"/>); an <c>Add</c> entry's, never read, in the step that drops it from the snapshot
/// (<see cref="WeakTargetHandlerEntry"/>). Entries still registered when the list is collected are freed by
/// <see cref="CollectedListReleaser"/>.</para>
/// <para><b>User code</b> (metric listeners) never runs under the lock: another thread's <c>Dispose</c> must not
/// wait for it.</para>
/// <para><b>Bounds.</b> Disposed and removed entries leave the snapshot at once. Dead entries (target or owner
/// collected) are dropped by every copy, by a raise that met more than max(4, 25 %) of them, and after each gen-2
/// collection by <see cref="WeakHandlerPurger"/> on a thread-pool thread.</para>
/// </remarks>
internal sealed class WeakHandlerList
{
    private static readonly SnapshotItem[] Empty = [];

    private readonly Lock _lock = new();
    private readonly object? _source;
    private readonly ListenerBudget? _budget;
    private readonly string? _name;
    private readonly Type? _declaringType;
    private readonly Metrics.WeakEventInstruments _metrics;
    private readonly IHandlerSnapshotSink? _sink;
    private SnapshotItem[] _snapshot = Empty;
    private CollectedListReleaser? _releaser;
    private RaiseSlots? _slots;
    private long _lastId;
    private bool _counted;

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
    internal SnapshotItem[] Snapshot => Volatile.Read(ref _snapshot);

    /// <summary>Gets the number of stored entries, live or not (the handler count metric, tests of the dead-entry bound).</summary>
    internal int StoredCount => Snapshot.Length;

    /// <summary>Gets the number of entries whose handler can still run (under the lock: it reads handles).</summary>
    internal int LiveCount
    {
        get
        {
            lock (_lock)
            {
                var count = 0;
                foreach (var item in _snapshot)
                {
                    if (item.Entry.IsAlive)
                    {
                        count++;
                    }
                }

                return count;
            }
        }
    }

    /// <summary>The compaction threshold for <paramref name="length"/> stored entries: max(4, 25 %).</summary>
    internal static int Slack(int length) => Math.Max(4, length / 4);

    /// <summary>
    /// Adds an <c>Add</c>-mode handler, one entry per part of a multicast delegate, all or nothing: every part is checked,
    /// the parts are counted in the budget together, and all are published at once.
    /// </summary>
    /// <exception cref="ArgumentException">A part is an unrooted closure and <paramref name="policy"/> refuses it.</exception>
    /// <exception cref="ListenerLimitExceededException">The budget refuses the parts.</exception>
    internal void AddHandler(Delegate handler, ClosurePolicy policy, string paramName)
    {
        if (handler.HasSingleTarget)
        {
            Add(WeakHandlerEntry.ForAdd(handler, policy, paramName));
            return;
        }

        var entries = new List<WeakHandlerEntry>();
        try
        {
            foreach (var single in Delegate.EnumerateInvocationList(handler))
            {
                entries.Add(WeakHandlerEntry.ForAdd(single, policy, paramName));
            }
        }
        catch
        {
            // A refused part: nothing was counted or published; each part made gives back its handles.
            foreach (var entry in entries)
            {
                _ = entry.Release();
            }

            throw;
        }

        Add(CollectionsMarshal.AsSpan(entries));
    }

    /// <summary>
    /// Appends an entry, dropping dead entries from the copy. If it throws, the entry was not published and its handles
    /// are freed.
    /// </summary>
    /// <exception cref="ListenerLimitExceededException">The budget refuses another listener.</exception>
    internal void Add(WeakHandlerEntry entry) => Add(new ReadOnlySpan<WeakHandlerEntry>(in entry));

    /// <summary>
    /// Counts entries in the budget together (a refusal never holds places a concurrent <c>Subscribe</c> could see) and
    /// publishes them; a budget's warning comes after. If it throws, nothing was counted or published and their handles
    /// are freed.
    /// </summary>
    /// <exception cref="ListenerLimitExceededException">The budget refuses the entries.</exception>
    private void Add(ReadOnlySpan<WeakHandlerEntry> entries)
    {
        if (_budget is null)
        {
            Append(entries);
            return;
        }

        // The budget judges live handlers: collected ones give their places back first.
        Purge();
        ListenerCount counter;
        try
        {
            counter = _budget.AcquireToAttach(_source!, _name, _declaringType, entries.Length);
        }
        catch
        {
            foreach (var entry in entries)
            {
                _ = entry.Release();
            }

            throw;
        }

        foreach (var entry in entries)
        {
            entry.SetBudgetCount(counter);
        }

        Append(entries);
        _budget.Attached(_source!, counter, _declaringType);
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
            var old = _snapshot;
            var indices = new List<int>(old.Length);
            for (var i = 0; i < old.Length; i++)
            {
                if (old[i].Entry.AddedHandlerOrNull is not null)
                {
                    indices.Add(i);
                }
            }

            for (var start = indices.Count - run.Length; start >= 0; start--)
            {
                if (Matches(old, indices, start, run))
                {
                    // The run is indices[start .. start + run.Length), ascending: skip those positions while copying.
                    var copy = new SnapshotItem[old.Length - run.Length];
                    var n = 0;
                    var k = start;
                    for (var i = 0; i < old.Length; i++)
                    {
                        if (k < start + run.Length && i == indices[k])
                        {
                            k++;
                        }
                        else
                        {
                            copy[n++] = old[i];
                        }
                    }

                    Publish(copy);
                    for (k = start; k < start + run.Length; k++)
                    {
                        _ = DropLocked(old[indices[k]].Entry);
                    }

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
            var old = _snapshot;
            for (var i = old.Length - 1; i >= 0; i--)
            {
                var entry = old[i].Entry;
                if (entry.AddedHandlerOrNull is { } stored && stored.Equals(handler))
                {
                    PublishWithout(old, i);
                    _ = DropLocked(entry);
                    return true;
                }
            }

            return false;
        }
    }

    private static bool Matches(SnapshotItem[] entries, List<int> indices, int start, Delegate[] run)
    {
        for (var k = 0; k < run.Length; k++)
        {
            if (entries[indices[start + k]].Entry.AddedHandlerOrNull is not { } handler || !handler.Equals(run[k]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Removes a subscribed entry: closes it (no invocation starts after this returns; a running one goes on), drops it
    /// from the snapshot and frees its handles.
    /// </summary>
    internal void Dispose(OwnerHandlerEntry entry)
    {
        if (!entry.Close())
        {
            // A concurrent closer is still waiting out a raise that checked the entry open: returning before that
            // raise calls would let it start the handler after this Dispose returned.
            entry.WaitOutChecks();
            return;
        }

        lock (_lock)
        {
            var old = _snapshot;
            var i = old.Length - 1;
            while (i >= 0 && !ReferenceEquals(old[i].Entry, entry))
            {
                i--;
            }

            // Not found: a purge or a copy dropped it already (its owner was collected, or it was closed before the
            // copy); the closer frees it all the same.
            if (i >= 0)
            {
                PublishWithout(old, i);
            }

            entry.ReleaseBudget();
            entry.Free();
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
        int purged;
        lock (_lock)
        {
            purged = CompactLocked();
        }

        RecordPurged(purged);
    }

    /// <summary>
    /// The list was collected (second finalization of its <see cref="CollectedListReleaser"/>): frees the handles of
    /// every entry left.
    /// </summary>
    internal void FreeAllOnCollection()
    {
        lock (_lock)
        {
            foreach (var item in _snapshot)
            {
                _ = item.Entry.Release();
            }

            // Consistent if a purge still finds the list: nothing left to read.
            Publish(Empty);
        }
    }

    /// <summary>Publishes counted entries in one copy, dropping dead entries from it.</summary>
    private void Append(ReadOnlySpan<WeakHandlerEntry> entries)
    {
        var register = false;
        int purged;
        lock (_lock)
        {
            // The handler count is the snapshot's length, observed whether or not anyone listens (so that a listener
            // attaching late reads the exact number): registered once, nothing to count per handler.
            if (!_counted)
            {
                _metrics.TrackHandlers(this, new HandlerCount(this, Metrics.WeakEventInstruments.NameTag(_name)));
                _counted = true;
            }

            var copy = CopyLiveLocked(extra: entries.Length, out purged);
            var at = copy.Length - entries.Length;
            foreach (var entry in entries)
            {
                if (entry is OwnerHandlerEntry bound)
                {
                    bound.Attach(_slots ??= new RaiseSlots(), ++_lastId);
                }

                register |= entry is not StrongHandlerEntry && _releaser is null;
                copy[at++] = new SnapshotItem(entry);
            }

            Publish(copy);
            if (register)
            {
                _releaser = new CollectedListReleaser(this);
            }
        }

        RecordPurged(purged);
        if (register)
        {
            WeakHandlerPurger.Register(this);
        }
    }

    /// <summary>
    /// Records purged entries; called after the lock is released, since a metric listener is user code (it may wait for
    /// a <c>Dispose</c> of this event on another thread). Once the call that purged returns, both instruments agree.
    /// Never throws: a throwing listener must not fail the raise, <c>Add</c> or <c>Subscribe</c> that compacted the
    /// list (a <c>Subscribe</c> would lose its token), so its failure is reported like a failed sweep.
    /// </summary>
    private void RecordPurged(int purged)
    {
        try
        {
            if (purged != 0 && _metrics.Purged.Enabled)
            {
                _metrics.Purged.Add(purged, Metrics.WeakEventInstruments.NameTag(_name));
            }
        }
#pragma warning disable CA1031 // A metric listener is user code: it must not fail an unrelated caller.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            Metrics.BackgroundFailures.ReportSweepFailed(exception, _name);
        }
    }

    /// <summary>
    /// For an entry just dropped from the published snapshot (under the lock): gives back its place in the budget and
    /// lets go of its handles. Returns 1 if it was collected (not removed), for the purged metric.
    /// </summary>
    private static int DropLocked(WeakHandlerEntry entry)
    {
        entry.ReleaseBudget();

        // An Add entry is closed here (an async raise reaching it later skipped it) and its handles, never read (a raise
        // reads the delegate's WeakReference), freed. A Subscribe entry is closed and freed here unless its token's
        // Dispose closed it (then it was removed, not purged).
        if (entry.IsAdded)
        {
            _ = entry.Close();
        }

        return entry.Release() ? 1 : 0;
    }

    private int CompactLocked()
    {
        var any = false;
        foreach (var item in _snapshot)
        {
            any |= !item.Entry.IsAlive;
        }

        if (!any)
        {
            return 0;
        }

        var copy = CopyLiveLocked(extra: 0, out var purged);
        Publish(copy.Length == 0 ? Empty : copy);
        return purged;
    }

    /// <summary>Copies the live entries into a new array with <paramref name="extra"/> free elements at the end, dropping the dead ones; under the lock.</summary>
    private SnapshotItem[] CopyLiveLocked(int extra, out int purged)
    {
        var old = _snapshot;
        var copy = new SnapshotItem[old.Length + extra];
        var n = 0;
        purged = 0;
        foreach (var item in old)
        {
            if (!item.Entry.IsAlive)
            {
                purged += DropLocked(item.Entry);
            }
            else
            {
                copy[n++] = item;
            }
        }

        if (n + extra != copy.Length)
        {
            Array.Resize(ref copy, n + extra);
        }

        return copy;
    }

    /// <summary>Publishes a copy of <paramref name="old"/> without index <paramref name="index"/>; called under the lock.</summary>
    private void PublishWithout(SnapshotItem[] old, int index)
    {
        var copy = old.Length == 1 ? Empty : new SnapshotItem[old.Length - 1];
        Array.Copy(old, 0, copy, 0, index);
        Array.Copy(old, index + 1, copy, index, old.Length - index - 1);
        Publish(copy);
    }

    /// <summary>Publishes a new snapshot; called under the lock.</summary>
    private void Publish(SnapshotItem[] snapshot)
    {
        Volatile.Write(ref _snapshot, snapshot);
        _sink?.Publish(snapshot);
    }
}
