using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Events;
using SafeRefs.Subscriptions;

namespace SafeRefs.Events.Internal;

/// <summary>
/// The copy-on-write entry array behind <see cref="Events.WeakEvent{TArgs}"/>, <see cref="WeakDelegateEvent{TDelegate}"/>
/// and <see cref="Events.AsyncWeakEvent{TArgs}"/>. Readers take <see cref="Snapshot"/> without locking; writers copy
/// under a lock and publish a new immutable array.
/// </summary>
/// <remarks>
/// <para><b>Handles.</b> Each entry owns its GC handles through a <see cref="SafeRefs.Internal.WeakLinkCore"/>. Those of
/// a <c>Subscribe</c> entry are gated and freed when it is claimed (its token's <c>Dispose</c>, or this list dropping
/// it dead). Those of an <c>Add</c> entry are the mechanism's one ungated exception, freed by this list: a raise reads
/// them between <see cref="EnterRaise"/> (before it loads the snapshot) and <see cref="ExitRaise"/>, so they are freed,
/// under the lock, once the entry is out of the published snapshot and no raise that may have loaded it is counted.
/// Two epochs: each raise counts itself in the current one; an entry dropped during an epoch is retired with it; the
/// lock holder flips to the other epoch only when no raise of that one is left, and frees the entries retired before a
/// flip once the raises counted before it are out (the last of them frees them). So overlapping raises do not hold
/// entries back without bound, and a raise costs one interlocked pair and none per handler. Entries still registered
/// when the list is collected are freed by <see cref="CollectedListReleaser"/>.</para>
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
    private long _raises; // raises in progress: epoch 0 counted in bits 0–31, epoch 1 in bits 32–63
    private int _epoch; // the epoch new raises count in, 0 or 1; written under the lock
    private List<WeakHandlerEntry>? _retiredNow; // dropped during the current epoch; under the lock
    private List<WeakHandlerEntry>? _retiredBefore; // dropped before the last flip; freed once the other epoch drains
    private CollectedListReleaser? _releaser;
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
    internal SnapshotItem[] Snapshot => Volatile.Read(ref _snapshot);

    /// <summary>Gets the number of stored entries, live or not (for tests of the dead-entry bound).</summary>
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

    /// <summary>Gets the number of raises in progress (tests).</summary>
    internal int RaisesInProgress
    {
        get
        {
            var raises = Volatile.Read(ref _raises);
            return (int)raises + (int)(raises >> 32);
        }
    }

    /// <summary>Gets the number of dropped entries whose handles wait for the raises in progress (tests).</summary>
    internal int RetiredCount
    {
        get
        {
            lock (_lock)
            {
                return (_retiredNow?.Count ?? 0) + (_retiredBefore?.Count ?? 0);
            }
        }
    }

    /// <summary>The compaction threshold for <paramref name="length"/> stored entries: max(4, 25 %).</summary>
    internal static int Slack(int length) => Math.Max(4, length / 4);

    /// <summary>
    /// Test seam: called by <see cref="EnterRaise"/> between its read of the epoch and its count (where a flip may come
    /// in between); <see langword="null"/> outside tests.
    /// </summary>
    internal Action? EpochReadHook { get; set; }

    /// <summary>
    /// Counts a raise in progress in the current epoch: call it before loading the snapshot whose entries the raise
    /// reads, and <see cref="ExitRaise"/> with the returned epoch in a <c>finally</c>.
    /// </summary>
    /// <remarks>The add is a full fence, so the raise loads a snapshot published before it, or later. If the epoch did
    /// not move between the two reads, a flip after this (whose own interlocked read of the counts follows it) sees this
    /// raise counted in the epoch it waits for; if it moved, the raise counts itself again in the new epoch, so that it
    /// does not hold back the entries retired before that flip, which it cannot read.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int EnterRaise()
    {
        while (true)
        {
            var epoch = Volatile.Read(ref _epoch);
            EpochReadHook?.Invoke();
            Interlocked.Add(ref _raises, 1L << (epoch << 5));
            if (Volatile.Read(ref _epoch) == epoch)
            {
                return epoch;
            }

            ExitRaise(epoch);
        }
    }

    /// <summary>
    /// Ends a raise counted by <see cref="EnterRaise"/>. The last raise out of the older epoch frees what was retired
    /// before the flip (the flip's own check may have seen it still counted).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void ExitRaise(int epoch)
    {
        var shift = epoch << 5;
        if ((int)(Interlocked.Add(ref _raises, -(1L << shift)) >> shift) == 0 && Volatile.Read(ref _epoch) != epoch)
        {
            lock (_lock)
            {
                ReclaimLocked();
            }
        }
    }

    /// <summary>
    /// For a raise that is not counted throughout (an async raise, which must not hold back frees across its awaits):
    /// <see cref="WeakHandlerEntry.TryBeginInvoke"/> on an entry of an older snapshot. A gated entry needs nothing
    /// more; an <c>Add</c> entry is read in a short counted window. It may be freed already if it was dropped before the
    /// window: it is marked dropped before the interlocked operation that decides the free (it is marked before it is
    /// retired, and it is freed only after a flip), and this window reads the epoch after its own interlocked operation
    /// and before the mark: either it saw that flip, and so the mark, or the free waits for this window.
    /// </summary>
    internal bool TryBeginInvokeUncounted(WeakHandlerEntry entry, out object? owner, [NotNullWhen(true)] out Delegate? handler)
    {
        if (entry.Kind != WeakHandlerEntry.EntryKind.WeakTarget)
        {
            return entry.TryBeginInvoke(out owner, out handler);
        }

        var epoch = EnterRaise();
        try
        {
            if (entry.IsDropped)
            {
                owner = null;
                handler = null;
                return false;
            }

            return entry.TryBeginInvoke(out owner, out handler);
        }
        finally
        {
            ExitRaise(epoch);
        }
    }

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
        var added = 0;
        try
        {
            foreach (var single in Delegate.EnumerateInvocationList(handler))
            {
                entries.Add(WeakHandlerEntry.ForAdd(single, policy, paramName));
            }

            for (; added < entries.Count; added++)
            {
                Add(entries[added]);
            }
        }
        finally
        {
            // A refused part or budget: the entries never published own handles nobody else will free.
            for (var i = added; i < entries.Count; i++)
            {
                entries[i].Release();
            }
        }
    }

    /// <summary>
    /// Appends an entry, dropping dead entries from the copy. If it throws, the entry was not published and its handles
    /// are freed.
    /// </summary>
    /// <exception cref="ListenerLimitExceededException">The budget refuses another listener.</exception>
    internal void Add(WeakHandlerEntry entry)
    {
        if (_budget is not null)
        {
            try
            {
                // Throws ListenerLimitExceededException (count unchanged) when the budget refuses: nothing is attached.
                entry.SetBudgetCount(_budget.Acquire(_source!, _name, _declaringType));
            }
            catch
            {
                entry.Release();
                throw;
            }
        }

        var register = false;
        int purged;
        lock (_lock)
        {
            // Counted whether or not anyone listens, so that a listener attaching late reads the exact number. Every
            // published entry is counted here and uncounted once, when it is dropped from the snapshot.
            (_tracker ??= _metrics.TrackHandlers(this, _name)).Increment();

            var copy = CopyLiveLocked(extra: 1, out purged);
            copy[^1] = new SnapshotItem(entry);
            Publish(copy);
            ReclaimLocked();
            if (entry.Kind != WeakHandlerEntry.EntryKind.Strong && _releaser is null)
            {
                _releaser = new CollectedListReleaser(this);
                register = true;
            }
        }

        RecordPurged(purged);
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
            var old = _snapshot;
            var indices = new List<int>(old.Length);
            for (var i = 0; i < old.Length; i++)
            {
                if (old[i].Entry.IsAdded && !old[i].Entry.IsDead)
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

                    var copy = new SnapshotItem[old.Length - run.Length];
                    var n = 0;
                    for (var i = 0; i < old.Length; i++)
                    {
                        if (!drop.Contains(i))
                        {
                            copy[n++] = old[i];
                        }
                    }

                    Publish(copy);
                    foreach (var i in drop)
                    {
                        _ = DropLocked(old[i].Entry);
                    }

                    ReclaimLocked();
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
                if (entry.IsAdded && entry.AddedHandlerOrNull is { } stored && stored.Equals(handler))
                {
                    PublishWithout(old, i);
                    _ = DropLocked(entry);
                    ReclaimLocked();
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
    /// Removes a subscribed entry: closes its gate (no invocation starts after this returns), drops it from the
    /// snapshot and frees its handles, or leaves that to the last raise in progress.
    /// </summary>
    internal void Dispose(WeakHandlerEntry entry)
    {
        if (!entry.Claim())
        {
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

            if (i < 0)
            {
                // A purge or a copy dropped it already (its owner was collected, or the gate closed before the copy).
                return;
            }

            PublishWithout(old, i);
            _ = DropLocked(entry);
            ReclaimLocked();
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
    /// every entry left. No raise is counted: a raise keeps the list reachable until its <see cref="ExitRaise"/>.
    /// </summary>
    internal void FreeAllOnCollection()
    {
        lock (_lock)
        {
            foreach (var item in _snapshot)
            {
                item.Entry.Release();
            }

            FreeAndClear(_retiredNow);
            FreeAndClear(_retiredBefore);

            // Consistent if a purge still finds the list: nothing left to read.
            Publish(Empty);
        }
    }

    /// <summary>
    /// Records purged entries; called after the lock is released, since a metric listener is user code (it may wait for
    /// a <c>Dispose</c> of this event on another thread). Once the call that purged returns, both instruments agree.
    /// </summary>
    private void RecordPurged(int purged)
    {
        if (purged != 0 && _metrics.Purged.Enabled)
        {
            _metrics.Purged.Add(purged, Metrics.WeakEventInstruments.NameTag(_name));
        }
    }

    /// <summary>
    /// For an entry just dropped from the published snapshot (under the lock): gives back its place in the budget and its
    /// handler count, and retires it until <see cref="ReclaimLocked"/> frees its handles. Returns 1 if it
    /// was collected (not removed), for the purged metric.
    /// </summary>
    private int DropLocked(WeakHandlerEntry entry)
    {
        entry.ReleaseBudget();
        _tracker!.Decrement();
        switch (entry.Kind)
        {
            case WeakHandlerEntry.EntryKind.WeakTarget:
                // Ungated: a raise counted before this drop may still read its weak handle.
                entry.MarkDropped();
                (_retiredNow ??= []).Add(entry);
                return 1;
            case WeakHandlerEntry.EntryKind.Owner:
                // Gated: claimed here unless its token's Dispose claimed it (then it was removed, not purged).
                return !entry.IsClaimed && entry.Claim() ? 1 : 0;
            default:
                return 0;
        }
    }

    /// <summary>
    /// Frees what no raise can read any more; called under the lock, after the snapshot without the retired entries
    /// was published. With no raise counted, every retired entry is freed. Otherwise the entries retired before the
    /// last flip are freed once no raise of the older epoch is counted; then, if entries were retired since, the epochs
    /// flip (new raises count in the drained one) and the same check runs for the raises counted before the flip.
    /// Reading the counts is an interlocked operation (a full fence): a raise counted after it loads a snapshot
    /// published before it, or later; one counted before it is seen, and the last of those out calls this again.
    /// </summary>
    private void ReclaimLocked()
    {
        while (_retiredBefore is { Count: > 0 } || _retiredNow is { Count: > 0 })
        {
            var raises = Interlocked.CompareExchange(ref _raises, 0, 0);
            if (raises == 0)
            {
                // No raise counted at all: one counted from now on loads a snapshot without any retired entry.
                FreeAndClear(_retiredBefore);
                FreeAndClear(_retiredNow);
                return;
            }

            var older = _epoch ^ 1;
            if ((int)(raises >> (older << 5)) != 0)
            {
                return;
            }

            FreeAndClear(_retiredBefore);
            if (_retiredNow is not { Count: > 0 })
            {
                return;
            }

            (_retiredBefore, _retiredNow) = (_retiredNow, _retiredBefore);
            Volatile.Write(ref _epoch, older);
        }
    }

    private static void FreeAndClear(List<WeakHandlerEntry>? entries)
    {
        if (entries is null)
        {
            return;
        }

        foreach (var entry in entries)
        {
            entry.Release();
        }

        entries.Clear();
    }

    private int CompactLocked()
    {
        var any = false;
        foreach (var item in _snapshot)
        {
            any |= item.Entry.IsDead;
        }

        if (!any)
        {
            return 0;
        }

        var copy = CopyLiveLocked(extra: 0, out var purged);
        Publish(copy.Length == 0 ? Empty : copy);
        ReclaimLocked();
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
            if (item.Entry.IsDead)
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
