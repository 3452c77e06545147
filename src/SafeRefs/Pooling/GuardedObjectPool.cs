using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.ObjectPool;
using SafeRefs.Internal;
using SafeRefs.Subscriptions;
using SafeRefs.Subscriptions.Internal;

namespace SafeRefs.Pooling;

/// <summary>
/// An <see cref="ObjectPool{T}"/> whose leases shed every listener they attached before the object is reused — the
/// guard against Node's keep-alive agent leak (a reused socket collecting one listener per request).
/// </summary>
/// <typeparam name="T">The pooled type.</typeparam>
/// <remarks>
/// <para><b>Holds</b> the inner pool and its options strongly; per pooled object a small guard state (tracking storage,
/// the probe's count) in a <see cref="ConditionalWeakTable{TKey, TValue}"/> keyed by the object, so discarded objects
/// are not kept alive, and a small statistics cell that references the guard state weakly (once the object is
/// collected, its counts are folded into the totals and the cell dropped). It never references a lease. The guard
/// state of the object used last is cached (with the object) until another object is used or the next full
/// collection, so an object the inner pool drops is not kept alive by the guard.</para>
/// <para><b>Limits:</b> listener counts per (object, event) are judged per lease, so reuse alone never crosses
/// <see cref="ListenerGuardOptions{T}.MaxListenersPerEvent"/>; crossing it warns once per (object, event) with
/// <see cref="MaxListenersExceeded"/> and a log, or refuses the listener.</para>
/// <para><b>Thread safety:</b> all members are thread-safe. Not disposable (the inner pool is the caller's). A lease
/// used only on the thread that rented it takes no interlocked operation; the first use from another thread revokes
/// that with a process-wide memory barrier, and after 8 such revocations the pool's leases take one compare-and-swap
/// per <c>On</c> and <c>Dispose</c> on every thread.</para>
/// </remarks>
public sealed class GuardedObjectPool<T> : ObjectPool<T>
    where T : class
{
    private static readonly KeyValuePair<string, object?> TypeTag = Metrics.PoolInstruments.TypeTag(typeof(T));

    private readonly ObjectPool<T> _inner;
    private readonly ConditionalWeakTable<T, PooledSlot<T>> _slots = new();
    private readonly int _maxListeners;
    private readonly ListenerBudgetAction _onExceeded;
    private readonly Func<T, int>? _probe;
    private readonly LeakAction _onLeak;
    private readonly ILogger _logger;
    private readonly Metrics _metrics;
    private readonly UpDownCounter<long> _leasesOutstanding;
    private readonly Counter<long> _listenersDetached;
    private readonly IMeterFactory? _meterFactory;
    private readonly ThreadCounters _counters = new(); // one cell per pooled object: 0 rented, 1 returned, 2 detached, 3 leaks suspected
    private readonly BiasBudget _bias = new(BiasBudget.DefaultRevocations);
    private readonly ConditionalWeakTable<T, PooledSlot<T>>.CreateValueCallback _createSlot;
    private PooledSlot<T>? _lastSlot;

    /// <summary>Initializes a new instance of the <see cref="GuardedObjectPool{T}"/> class.</summary>
    /// <param name="inner">The pool that stores the objects.</param>
    /// <param name="options">The guard's settings; <see langword="null"/> for the defaults. Read once, here.</param>
    /// <exception cref="ArgumentNullException"><paramref name="inner"/> is <see langword="null"/>.</exception>
    public GuardedObjectPool(ObjectPool<T> inner, ListenerGuardOptions<T>? options = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        options ??= new ListenerGuardOptions<T>();
        _inner = inner;
        _maxListeners = options.MaxListenersPerEvent;
        _onExceeded = options.OnExceeded;
        _probe = options.ListenerCountProbe;
        _onLeak = options.OnLeakSuspected;
        _logger = options.Logger ?? NullLogger.Instance;
        _meterFactory = options.MeterFactory;
        _metrics = Metrics.For(options.MeterFactory);
        _leasesOutstanding = _metrics.Pool.LeasesOutstanding;
        _listenersDetached = _metrics.Pool.ListenersDetached;
        TimeProvider = options.TimeProvider ?? TimeProvider.System;
        _createSlot = value => new PooledSlot<T>(value, _bias);

        // The last-used slot is a cache that holds its object strongly: let it go after each full collection, so an
        // object the inner pool dropped is not kept alive by this pool while no other object is used.
        _ = Gen2Callback.Register(this, static pool =>
        {
            Volatile.Write(ref ((GuardedObjectPool<T>)pool)._lastSlot, null);
            return true;
        });
    }

    /// <summary>Raised once per (object, event) when a lease attaches more than the limit (with <see cref="ListenerBudgetAction.Warn"/>).</summary>
    /// <remarks>The sender is the pool; raised on the attaching thread; a throwing handler is logged, not propagated.</remarks>
    public event EventHandler<ListenerLeakEventArgs>? MaxListenersExceeded;

    /// <summary>Raised when the probe finds more listeners at return than at rent.</summary>
    /// <remarks>The sender is the pool; raised on the returning thread; a throwing handler is logged, not propagated.</remarks>
    public event EventHandler<LeaseLeakEventArgs<T>>? LeakSuspected;

    /// <summary>Gets a snapshot of the pool's counters.</summary>
    /// <value>A new snapshot on each read.</value>
    public GuardedPoolStatistics Statistics
    {
        get
        {
            _counters.Read(out var rented, out var returned, out var detached, out var leaksSuspected);
            return new(rented, returned, detached, leaksSuspected);
        }
    }

    internal TimeProvider TimeProvider { get; }

    /// <summary>Gets a value indicating whether the last-used slot cache holds a slot (tests).</summary>
    internal bool HasLastSlot => Volatile.Read(ref _lastSlot) is not null;

    /// <summary>Gets the budget of revocations after which leases are no longer biased to their renting thread; for tests.</summary>
    internal BiasBudget Bias => _bias;

    /// <summary>Gets how many statistics cells are registered (one per pooled object, until a collected object's is folded); for tests.</summary>
    internal int CounterCellCount => _counters.CellCount;

    /// <summary>Creates the timer scope of one lease: on the pool's clock and meter, named after the pooled type.</summary>
    internal Timers.TimerScope CreateLeaseTimers() => new(TimeProvider) { Name = TypeTag.Value as string, MeterFactory = _meterFactory };

    /// <summary>Rents an object under a lease that tracks what this use attaches to it.</summary>
    /// <returns>The lease; dispose it to undo its attachments and return the object.</returns>
    public PoolLease<T> Rent()
    {
        var slot = Begin(_inner.Get());
        return new PoolLease<T>(this, slot, slot.Version);
    }

    /// <summary>Gets an object without a lease (counted in <see cref="Statistics"/>; the probe still checks it at return).</summary>
    /// <returns>The object.</returns>
    public override T Get() => Begin(_inner.Get()).Value;

    /// <summary>
    /// Returns an object: detaches whatever a lease tracked for it (ending that lease), checks the probe, then returns it
    /// to the inner pool (or discards it).
    /// </summary>
    /// <param name="obj">The object. One that was never rented from this pool goes to the inner pool as is (once);
    /// one that is not out (returned already) is ignored, so a second return never puts it in the inner pool twice.</param>
    /// <exception cref="ArgumentNullException"><paramref name="obj"/> is <see langword="null"/>.</exception>
    public override void Return(T obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var slot = SlotFor(obj);
        var version = Volatile.Read(ref slot.Version);
        if ((version & 1) == 0)
        {
            // Not out through this pool. Never rented here (version 0): hand it to the inner pool once, marked as
            // returned. Returned already: do nothing, since the inner pool would hold it twice and give it to two
            // renters at once.
            if (version == 0 && Interlocked.CompareExchange(ref slot.Version, 2, 0) == 0)
            {
                _inner.Return(obj);
            }

            return;
        }

        End(slot, version);
    }

    internal void Attach<THandler>(PooledSlot<T> slot, int version, Action<T, THandler> add, Action<T, THandler> remove, THandler handler, string key)
        where THandler : Delegate
    {
        var warnCount = 0;

        // The add accessor runs inside the slot and may re-enter it (a Dispose from inside the accessor): enter with
        // this thread's id.
        var taken = slot.Enter(version);
        try
        {
            if (!slot.IsCurrent(version))
            {
                throw new ObjectDisposedException(nameof(PoolLease<T>), "The lease has ended; its object may already serve another lease.");
            }

            // A lease tracking fewer entries than the limit cannot exceed it with one more: skip the scan.
            if (_maxListeners > 0 && slot.EntryCount >= _maxListeners)
            {
                warnCount = JudgeLimit(slot, key);
            }

            slot.Reserve();
            add(slot.Value, handler);
            if (!slot.IsCurrent(version))
            {
                // The add accessor ended this lease itself (a reentrant Dispose or Return on this thread): the object
                // may already serve another lease, so take the handler off again instead of tracking it there.
                remove(slot.Value, handler);
                throw new ObjectDisposedException(nameof(PoolLease<T>), "The lease ended while its add accessor ran; the handler was removed again.");
            }

            // Room was reserved before the add accessor ran, so tracking it cannot fail.
            slot.AppendReserved(remove, handler, key);
        }
        finally
        {
            slot.Exit(taken);
        }

        if (warnCount > 0)
        {
            WarnExceeded(slot.Value, EventNames.Normalize(key), warnCount);
        }
    }

    /// <summary>
    /// Counts the lease's listeners on <paramref name="key"/> with one more (under the slot's lock): refuses with
    /// <see cref="ListenerBudgetAction.Throw"/>, or returns the count to warn about (once per object and event), or 0.
    /// </summary>
    private int JudgeLimit(PooledSlot<T> slot, string key)
    {
        var count = slot.CountFor(key) + 1;
        if (count <= _maxListeners)
        {
            return 0;
        }

        if (_onExceeded == ListenerBudgetAction.Throw)
        {
            var name = EventNames.Normalize(key);
            _metrics.Exceeded(typeof(T), name, "throw");
            throw new ListenerLimitExceededException(slot.Value.GetType(), name, count, _maxListeners);
        }

        return _onExceeded == ListenerBudgetAction.Warn && slot.TryMarkWarned(EventNames.Normalize(key)) ? count : 0;
    }

    internal void End(PooledSlot<T> slot, int version)
    {
        var taken = slot.EnterQuiet(version);
        if (slot.Version != version)
        {
            slot.Exit(taken);
            return;
        }

        // Nothing in this section can throw: the slot is left on every path. The bias ends with the lease, before the
        // object can be rented again.
        slot.ClearBias();
        Volatile.Write(ref slot.Version, version + 1);
        var count = slot.EntryCount;
        if (slot.Cts is null && slot.Timers is null && !slot.Counted && _probe is null)
        {
            if (count == 0)
            {
                // Nothing to undo or report: the empty use.
                slot.Exit(taken);
                slot.Counters!.Add1(1);
                _inner.Return(slot.Value);
                return;
            }

            // Only handlers and registrations to undo: the common use.
            var tracked = slot.Entries;
            slot.EntryCount = 0;
            slot.Exit(taken);
            EndTracked(slot, tracked, count);
            return;
        }

        var entries = slot.Entries;
        slot.EntryCount = 0;
        var counted = slot.Counted;
        slot.Counted = false;
        var cts = slot.Cts;
        slot.Cts = null;
        var timers = slot.Timers;
        slot.Timers = null;
        slot.Exit(taken);
        EndSlow(slot, entries, count, cts, timers, counted);
    }

    // Runs user code (remove accessors, registrations, the probe, event handlers) before it counts.
    // Runs user code (remove accessors, registrations, the probe, event handlers) before it counts.
    private void EndSlow(PooledSlot<T> slot, TrackedEntry<T>[] entries, int count, CancellationTokenSource? cts, Timers.TimerScope? timers, bool counted)
    {
        EndAfterDetach(slot, count, DetachEntries(slot.Value, entries, count), cts, timers, counted);
    }

    // A lease that tracked only handlers and registrations (no token, timers, probe or metric to settle): detach them
    // (user code, outside the slot's lock), then count and return the object.
    private void EndTracked(PooledSlot<T> slot, TrackedEntry<T>[] entries, int count)
    {
        var value = slot.Value;
        if (DetachEntries(value, entries, count) is { } failures)
        {
            EndAfterDetach(slot, count, failures, null, null, counted: false);
            return;
        }

        if (_listenersDetached.Enabled)
        {
            _listenersDetached.Add(count, TypeTag);
        }

        // Counted before the object goes back: once it is in the pool, the next renter writes the cell.
        var cell = slot.Counters!;
        cell.Add2(count);
        cell.Add1(1);
        _inner.Return(value);
    }

    /// <summary>Detaches the tracked entries, last in first out, clearing each; a failing detach does not stop the others.</summary>
    /// <returns>The failures, or <see langword="null"/> when every detach succeeded.</returns>
    private List<Exception>? DetachEntries(T value, TrackedEntry<T>[] entries, int count)
    {
        // One protected region around the whole loop, resumed after the entry that failed: the loop itself runs
        // without per-entry exception-handling bookkeeping.
        List<Exception>? errors = null;
        var i = count - 1;
        while (i >= 0)
        {
            try
            {
                for (; i >= 0; i--)
                {
                    entries[i].Detach(value);
                    entries[i] = default;
                }
            }
#pragma warning disable CA1031 // a failing detach must not stop the others; failures are rethrown together
            catch (Exception ex)
#pragma warning restore CA1031
            {
                entries[i] = default;
                i--;
                (errors ??= []).Add(ex);
                Log.LeaseDetachFailed(_logger, ex, typeof(T).Name);
            }
        }

        return errors;
    }

    // Runs user code (registrations, the probe, event handlers) before it counts.
    private void EndAfterDetach(PooledSlot<T> slot, int count, List<Exception>? errors, CancellationTokenSource? cts, Timers.TimerScope? timers, bool counted)
    {
        var value = slot.Value;
        if (counted)
        {
            _leasesOutstanding.Add(-1, TypeTag);
        }

        var detached = count - (errors?.Count ?? 0);
        if (detached > 0 && _listenersDetached.Enabled)
        {
            _listenersDetached.Add(detached, TypeTag);
        }

        if (timers is not null || cts is not null)
        {
            StopPerUseWork(timers, cts, ref errors);
        }

        var discard = errors is not null;
        var suspected = 0;
        LeaseLeakException? leak = null;
        if (_probe is not null)
        {
            var now = _probe(value);
            if (now > slot.CountAtRent)
            {
                discard |= _onLeak != LeakAction.Warn;
                suspected = 1;
                if (_metrics.Pool.LeaksSuspected.Enabled)
                {
                    _metrics.Pool.LeaksSuspected.Add(1, TypeTag);
                }

                Log.LeaseAttachedBehind(_logger, (string)TypeTag.Value!, slot.CountAtRent, now, discard);
                RaiseLeakSuspected(new LeaseLeakEventArgs<T>(value, slot.CountAtRent, now, discard));
                if (_onLeak == LeakAction.Throw)
                {
                    leak = new LeaseLeakException(typeof(T), slot.CountAtRent, now);
                }
            }
        }

        // Counted before the object goes back: once it is in the pool, the next renter writes the cell.
        var cell = slot.Counters!;
        cell.Add2(detached);
        cell.Add3(suspected);
        cell.Add1(1);
        if (discard)
        {
            Interlocked.CompareExchange(ref _lastSlot, null, slot);
            (value as IDisposable)?.Dispose();
        }
        else
        {
            _inner.Return(value);
        }

        if (errors is not null)
        {
            throw new AggregateException("Ending a pool lease: some tracked listeners or registrations failed to detach; the object was discarded.", errors);
        }

        if (leak is not null)
        {
            throw leak;
        }
    }

    private static void StopPerUseWork(Timers.TimerScope? timers, CancellationTokenSource? cts, ref List<Exception>? errors)
    {
        try
        {
            timers?.Dispose();
        }
#pragma warning disable CA1031 // collected and rethrown
        catch (Exception ex)
#pragma warning restore CA1031
        {
            (errors ??= []).Add(ex);
        }

        if (cts is null)
        {
            return;
        }

        try
        {
            cts.Cancel();
        }
        catch (AggregateException ex)
        {
            (errors ??= []).AddRange(ex.InnerExceptions);
        }
        finally
        {
            cts.Dispose();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private PooledSlot<T> Begin(T value)
    {
        var slot = SlotFor(value);
        if (_probe is not null)
        {
            slot.CountAtRent = _probe(value);
        }
        if (_leasesOutstanding.Enabled)
        {
            CountOutstanding(_leasesOutstanding, slot);
        }

        // Nobody else has this lease yet: bias it to this thread (written before the version, so a thread that sees the
        // new version sees the bias too).
        if (_bias.Enabled)
        {
            slot.BiasThread = ThreadIds.Current;
        }

        Volatile.Write(ref slot.Version, slot.Version + 1 | 1);
        slot.Counters!.Add0(1);
        return slot;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CountOutstanding(UpDownCounter<long> leasesOutstanding, PooledSlot<T> slot)
    {
        slot.Counted = true;
        leasesOutstanding.Add(1, TypeTag);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private PooledSlot<T> SlotFor(T value)
    {
        var last = _lastSlot;
        return last is not null && ReferenceEquals(last.Value, value) ? last : SlotForSlow(value);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private PooledSlot<T> SlotForSlow(T value)
    {
        if (!_slots.TryGetValue(value, out var slot))
        {
            slot = _slots.GetValue(value, _createSlot);
        }

        if (Volatile.Read(ref slot.Counters) is null)
        {
            // Two threads meeting a new object at once each register a cell; the one that loses stays at zero and is
            // folded once the object is collected.
            Interlocked.CompareExchange(ref slot.Counters, _counters.Attach(slot), null);
        }

        _lastSlot = slot;
        return slot;
    }

    private void WarnExceeded(T value, string eventName, int count)
    {
        _metrics.Exceeded(value.GetType(), eventName, "warn");
        Log.LeaseListenerLeakSuspected(_logger, TypeNames.Display(value.GetType()), eventName, count, _maxListeners);
        try
        {
            MaxListenersExceeded?.Invoke(this, new ListenerLeakEventArgs(value, eventName, count, _maxListeners));
        }
#pragma warning disable CA1031 // warning never throws
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.PoolEventHandlerFailed(_logger, ex, nameof(MaxListenersExceeded));
        }
    }

    private void RaiseLeakSuspected(LeaseLeakEventArgs<T> args)
    {
        try
        {
            LeakSuspected?.Invoke(this, args);
        }
#pragma warning disable CA1031 // reporting never throws
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.PoolEventHandlerFailed(_logger, ex, nameof(LeakSuspected));
        }
    }
}
