using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.ObjectPool;
using SafeRefs.Internal;
using SafeRefs.Subscriptions;

namespace SafeRefs.Pooling;

/// <summary>
/// An <see cref="ObjectPool{T}"/> whose leases shed every listener they attached before the object is reused — the
/// guard against Node's keep-alive agent leak (a reused socket collecting one listener per request).
/// </summary>
/// <typeparam name="T">The pooled type.</typeparam>
/// <remarks>
/// <para><b>Holds</b> the inner pool and its options strongly; per pooled object a small guard state (tracking storage,
/// the probe's count) in a <see cref="ConditionalWeakTable{TKey, TValue}"/> keyed by the object, so discarded objects
/// are not kept alive. It never references a lease.</para>
/// <para><b>Limits:</b> listener counts per (object, event) are judged per lease, so reuse alone never crosses
/// <see cref="ListenerGuardOptions{T}.MaxListenersPerEvent"/>; crossing it warns once per (object, event) with
/// <see cref="MaxListenersExceeded"/> and a log, or refuses the listener.</para>
/// <para><b>Thread safety:</b> all members are thread-safe. Not disposable (the inner pool is the caller's).</para>
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
    private readonly IMeterFactory? _meterFactory;
    private readonly ThreadCounters _counters = new(); // 0 rented, 1 returned, 2 detached, 3 leaks suspected
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
        TimeProvider = options.TimeProvider ?? TimeProvider.System;
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
    /// <param name="obj">The object.</param>
    /// <exception cref="ArgumentNullException"><paramref name="obj"/> is <see langword="null"/>.</exception>
    public override void Return(T obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var slot = SlotFor(obj);
        var version = Volatile.Read(ref slot.Version);
        if ((version & 1) == 0)
        {
            // Not out through this pool (never rented here, or returned already): hand it to the inner pool as is.
            _inner.Return(obj);
            return;
        }

        End(slot, version);
    }

    internal void Attach<THandler>(PooledSlot<T> slot, int version, Action<T, THandler> add, Action<T, THandler> remove, THandler handler, string key)
        where THandler : Delegate
    {
        var warnCount = 0;
        var taken = slot.Enter(_counters.Local.ThreadId);
        try
        {
            if (!slot.IsCurrent(version))
            {
                throw new ObjectDisposedException(nameof(PoolLease<T>), "The lease has ended; its object may already serve another lease.");
            }

            // A lease tracking fewer entries than the limit cannot exceed it with one more: skip the scan.
            if (_maxListeners > 0 && slot.EntryCount >= _maxListeners)
            {
                var count = slot.CountFor(key) + 1;
                if (count > _maxListeners)
                {
                    if (_onExceeded == ListenerBudgetAction.Throw)
                    {
                        var name = EventNames.Normalize(key);
                        _metrics.Exceeded(typeof(T), name, "throw");
                        throw new ListenerLimitExceededException(slot.Value.GetType(), name, count, _maxListeners);
                    }

                    if (_onExceeded == ListenerBudgetAction.Warn && slot.TryMarkWarned(EventNames.Normalize(key)))
                    {
                        warnCount = count;
                    }
                }
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

            slot.Append(new TrackedEntry<T>
            {
                Remove = remove,
                Handler = handler,
                EventKey = key,
            });
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

    internal void End(PooledSlot<T> slot, int version)
    {
        var cell = _counters.Local;
        var taken = slot.Enter(cell.ThreadId);
        if (slot.Version != version)
        {
            slot.Exit(taken);
            return;
        }

        // Nothing in this section can throw: the slot's lock is left on every path.
        Volatile.Write(ref slot.Version, version + 1);
        var count = slot.EntryCount;
        if (count == 0 && slot.Cts is null && slot.Timers is null && !slot.Counted && _probe is null)
        {
            // Nothing to undo or report: the common empty use.
            slot.Exit(taken);
            cell.Add1(1);
            _inner.Return(slot.Value);
            return;
        }

        var counted = slot.Counted;
        slot.Counted = false;
        var entries = slot.Entries;
        slot.EntryCount = 0;
        var cts = slot.Cts;
        slot.Cts = null;
        var timers = slot.Timers;
        slot.Timers = null;
        slot.Exit(taken);
        EndSlow(cell, slot, entries, count, cts, timers, counted);
    }

    // Runs user code (remove accessors, registrations, the probe, event handlers) before it counts.
    private void EndSlow(ThreadCounters.Cell cell, PooledSlot<T> slot, TrackedEntry<T>[] entries, int count, CancellationTokenSource? cts, Timers.TimerScope? timers, bool counted)
    {
        var value = slot.Value;
        List<Exception>? errors = null;
        for (var i = count - 1; i >= 0; i--)
        {
            ref var entry = ref entries[i];
            try
            {
                entry.Detach(value);
            }
#pragma warning disable CA1031 // a failing detach must not stop the others; failures are rethrown together
            catch (Exception ex)
#pragma warning restore CA1031
            {
                (errors ??= []).Add(ex);
                Log.LeaseDetachFailed(_logger, ex, typeof(T).Name);
            }

            entry = default;
        }

        if (counted)
        {
            _metrics.Pool.LeasesOutstanding.Add(-1, TypeTag);
        }

        var detached = count - (errors?.Count ?? 0);
        if (count > 0)
        {
            if (detached > 0 && _metrics.Pool.ListenersDetached.Enabled)
            {
                _metrics.Pool.ListenersDetached.Add(detached, TypeTag);
            }
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

                Log.LeaseAttachedBehind(_logger, typeof(T).FullName ?? typeof(T).Name, slot.CountAtRent, now, discard);
                RaiseLeakSuspected(new LeaseLeakEventArgs<T>(value, slot.CountAtRent, now, discard));
                if (_onLeak == LeakAction.Throw)
                {
                    leak = new LeaseLeakException(typeof(T), slot.CountAtRent, now);
                }
            }
        }

        // The user callbacks above may have made this thread retire its cell (only this thread can): then take a new one.
        if (cell.IsRetired)
        {
            cell = _counters.Local;
        }

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
        slot.CountAtRent = _probe is null ? 0 : _probe(value);
        if (_metrics.Pool.LeasesOutstanding.Enabled)
        {
            CountOutstanding(_metrics, slot);
        }

        Volatile.Write(ref slot.Version, slot.Version + 1 | 1);
        _counters.Local.Add0(1);
        return slot;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CountOutstanding(Metrics metrics, PooledSlot<T> slot)
    {
        slot.Counted = true;
        metrics.Pool.LeasesOutstanding.Add(1, TypeTag);
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
            slot = _slots.GetValue(value, static v => new PooledSlot<T>(v));
        }

        _lastSlot = slot;
        return slot;
    }

    private void WarnExceeded(T value, string eventName, int count)
    {
        _metrics.Exceeded(value.GetType(), eventName, "warn");
        Log.LeaseListenerLeakSuspected(_logger, value.GetType().FullName ?? value.GetType().Name, eventName, count, _maxListeners);
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
