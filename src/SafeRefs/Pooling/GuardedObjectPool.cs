using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.ObjectPool;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Internal;
using SafeRefs.Pooling.Internal;
using SafeRefs.Subscriptions;
using SafeRefs.Timers;

namespace SafeRefs.Pooling;

/// <summary>
/// An <see cref="ObjectPool{T}"/> whose leases shed every listener, timer and registration they attached before the
/// object is reused — the guard against Node's keep-alive agent leak (a reused socket collecting one listener per
/// request).
/// </summary>
/// <typeparam name="T">The pooled type.</typeparam>
/// <remarks>
/// <para><b>Holds</b> the inner pool and its options strongly; per pooled object a small guard state (tracking storage,
/// the probe's count) in a <see cref="ConditionalWeakTable{TKey, TValue}"/> keyed by the object, so objects the inner
/// pool drops are not kept alive; its statistics counters spread over cache-line-padded cells (a few kilobytes), so
/// that threads renting and ending leases at once do not contend. It reaches a lease only through the guard state of
/// the object the lease holds, until the object went back.</para>
/// <para><b>A lease is over only when nothing of it runs:</b> its end detaches what it tracked, stops its timers and
/// loops and cancels its token at once, and hands the object back to the inner pool only after the last of its timer
/// callbacks, loop bodies and (forwarded) handlers that were running has returned.</para>
/// <para><b>Limits:</b> listener counts per (object, event) are judged per lease, so reuse alone never crosses
/// <see cref="GuardedObjectPoolOptions{T}.MaxListenersPerEvent"/>; crossing it warns once per (object, event) with
/// <see cref="MaxListenersExceeded"/> and a log, or refuses the listener.</para>
/// <para><b>Thread safety:</b> all members are thread-safe.</para>
/// <para><b>Dispose:</b> a pool built from a provider (<see cref="GuardedObjectPoolExtensions.CreateGuarded{T}"/>,
/// <c>AddGuardedObjectPool</c>) owns its inner pool and disposes it, which disposes the <see cref="IDisposable"/>
/// objects it retains (the default provider's pool does for an <see cref="IDisposable"/> <typeparamref name="T"/>); an
/// object whose lease ends later goes to the
/// disposed inner pool, which disposes it. A pool built over the caller's inner pool leaves it alone. After
/// <see cref="Dispose"/>, <see cref="Rent"/> and <see cref="Get"/> throw <see cref="ObjectDisposedException"/>; a second
/// <see cref="Dispose"/> does nothing.</para>
/// </remarks>
public sealed class GuardedObjectPool<T> : ObjectPool<T>, IDisposable
    where T : class
{
    private const int Rented = 0;
    private const int Returned = 1;
    private const int Detached = 2;

    private static readonly KeyValuePair<string, object?> TypeTag = Metrics.PoolInstruments.TypeTag(typeof(T));

    private readonly ObjectPool<T> _inner;
    private readonly ConditionalWeakTable<T, PooledObjectState<T>> _states = new();
    private readonly int _maxListeners;
    private readonly ListenerBudgetAction _onExceeded;
    private readonly Func<T, int>? _probe;
    private readonly LeakAction _onLeak;
    private readonly ILogger _logger;
    private readonly ILogger? _timerLogger;
    private readonly Metrics _metrics;
    private readonly IMeterFactory? _meterFactory;
    private readonly EventHandler<TimerErrorEventArgs> _onLeaseTimerError;
    private readonly bool _ownsInner;

    // Rented, Returned and Detached, counted by every lease on whichever thread it starts and ends: striped, so that
    // threads renting and ending leases at once do not contend on one cache line (nor on the fields above).
    private readonly StripedCounters _counters = new(3);
    private int _disposed;
    private long _leaksSuspected;

    /// <summary>Initializes a new instance of the <see cref="GuardedObjectPool{T}"/> class.</summary>
    /// <param name="inner">The pool that stores the objects.</param>
    /// <param name="options">The guard's settings; <see langword="null"/> for the defaults. Read once, here.</param>
    /// <exception cref="ArgumentNullException"><paramref name="inner"/> is <see langword="null"/>.</exception>
    public GuardedObjectPool(ObjectPool<T> inner, GuardedObjectPoolOptions<T>? options = null)
        : this(inner, options, ownsInner: false)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="GuardedObjectPool{T}"/> class that disposes
    /// <paramref name="inner"/> with itself when <paramref name="ownsInner"/> is set (it created the inner pool).</summary>
    internal GuardedObjectPool(ObjectPool<T> inner, GuardedObjectPoolOptions<T>? options, bool ownsInner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _ownsInner = ownsInner;
        options ??= new GuardedObjectPoolOptions<T>();
        _inner = inner;
        _maxListeners = options.MaxListenersPerEvent;
        _onExceeded = options.OnExceeded;
        _probe = options.ListenerCountProbe;
        _onLeak = options.OnLeakSuspected;
        _timerLogger = options.Logger;
        _logger = options.Logger ?? NullLogger.Instance;
        _meterFactory = options.MeterFactory;
        _metrics = Metrics.For(options.MeterFactory);
        _metrics.Pool.RegisterOutstanding(this, new OutstandingLeaseCount<T>(this));
        TimeProvider = options.TimeProvider ?? TimeProvider.System;
        _onLeaseTimerError = (sender, args) => Raise(TimerError, sender, args, nameof(TimerError));
    }

    /// <summary>Raised once per (object, event) when a lease attaches more than the limit (with <see cref="ListenerBudgetAction.Warn"/>).</summary>
    /// <remarks>The sender is the pool; raised on the attaching thread; a throwing handler is logged, not propagated.</remarks>
    public event EventHandler<ListenerLeakEventArgs>? MaxListenersExceeded;

    /// <summary>Raised when the probe finds more listeners at return than at rent.</summary>
    /// <remarks>The sender is the pool; raised on the thread that hands the object back (for a lease, the one that ends it,
    /// or the last of its callbacks still running then, as it returns); a throwing handler is logged, not
    /// propagated.</remarks>
    public event EventHandler<LeaseLeakEventArgs<T>>? LeakSuspected;

    /// <summary>Raised when a timer callback or loop body of a lease's <see cref="PoolLease{T}.Timers"/> throws.</summary>
    /// <remarks>The sender is the lease's timer scope; raised on the thread that ran the callback. The failure is also
    /// logged (event id 1200 or 1201) and the timer keeps its schedule. Whether or not anything handles it, a lease
    /// timer's exception never becomes an unhandled exception; a throwing handler is logged, not propagated.</remarks>
    public event EventHandler<TimerErrorEventArgs>? TimerError;

    /// <summary>Gets a snapshot of the pool's counters.</summary>
    /// <value>A new snapshot on each read.</value>
    public GuardedPoolStatistics Statistics
    {
        get
        {
            // Returned before rented: an object is counted rented before it can be counted returned, so the snapshot
            // never shows fewer objects out than there are.
            var returned = _counters.Read(Returned);
            return new(_counters.Read(Rented), returned, _counters.Read(Detached), Interlocked.Read(ref _leaksSuspected));
        }
    }

    internal TimeProvider TimeProvider { get; }

    /// <summary>Rents an object under a lease that tracks what this use attaches to it.</summary>
    /// <returns>The lease; dispose it to undo its attachments and return the object.</returns>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    public PoolLease<T> Rent()
    {
        var state = TakeOut();

        // The object is in no one else's hands: its previous lease handed it back and touches nothing of it any more.
        var lease = new PoolLease<T>(this, state);
        Volatile.Write(ref state.Current, lease);
        return lease;
    }

    /// <summary>Gets an object without a lease (counted in <see cref="Statistics"/>; the probe still checks it at return).</summary>
    /// <returns>The object.</returns>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    public override T Get()
    {
        var state = TakeOut();

        // No lease: nothing can be attached through the guard, so Return has only the probe to check.
        Volatile.Write(ref state.OutUnleased, 1);
        return state.Value;
    }

    /// <summary>Disposes the inner pool if this pool created it (see the remarks); a second call does nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && _ownsInner)
        {
            (_inner as IDisposable)?.Dispose();
        }
    }

    /// <summary>
    /// Returns an object: ends the lease it is out under (detaching what that lease tracked) or its use from
    /// <see cref="Get"/>, checks the probe, then returns it to the inner pool (or discards it).
    /// </summary>
    /// <param name="obj">The object. One that was never rented from this pool goes to the inner pool as is (once);
    /// one that is not out (returned already) is ignored, so a second return never puts it in the inner pool twice.
    /// A stale return of an object that another caller has rented (or got) since ends that caller's use. While a lease is
    /// being ended on another thread, it acts as a second <see cref="PoolLease{T}.Dispose"/> of it.</param>
    /// <exception cref="ArgumentNullException"><paramref name="obj"/> is <see langword="null"/>.</exception>
    public override void Return(T obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var state = _states.GetOrAdd(obj, static value => new PooledObjectState<T>(value));
        if (Volatile.Read(ref state.Current) is { } lease)
        {
            // Also while another end of that lease runs: this one then acts as a second Dispose.
            lease.Dispose();
        }
        else if (Interlocked.Exchange(ref state.OutUnleased, 0) != 0)
        {
            // Out under Get (this return is the one that ends it): the probe, then back to the inner pool.
            List<Exception>? errors = null;
            var leak = CheckProbe(state, discarding: false, ref errors, out var discard);
            if (EndFailure(errors, leak, GiveBack(obj, discard)) is { } failure)
            {
                ExceptionDispatchInfo.Throw(failure);
            }
        }
        else if (state.TryMarkReturnedUnrented())
        {
            // Never rented here: to the inner pool once. Returned already: the inner pool would hold it twice.
            _inner.Return(obj);
        }
    }

    /// <summary>Creates the timer scope of one lease: on the pool's clock, logger and meter, reporting to <see cref="TimerError"/>.</summary>
    internal TimerScope CreateLeaseTimers()
    {
        var timers = new TimerScope(TimeProvider) { Name = TypeTag.Value as string, MeterFactory = _meterFactory, Logger = _timerLogger };
        timers.Error += _onLeaseTimerError;
        return timers;
    }

    /// <summary>The failure an end reports to its caller: the detach, token and probe failures together with the
    /// return's (the object was discarded), else the probe's finding and the return's failure.</summary>
    internal static Exception? EndFailure(List<Exception>? errors, Exception? leak, Exception? returnFailure)
    {
        if (errors is not null)
        {
            if (returnFailure is not null)
            {
                errors.Add(returnFailure);
            }

            return new AggregateException("Ending a pool lease: some tracked listeners, registrations, token callbacks or the probe failed; the object was discarded.", errors);
        }

        return leak is null || returnFailure is null ? leak ?? returnFailure : new AggregateException(leak, returnFailure);
    }

    internal void CountDetached(int detached)
    {
        if (detached > 0)
        {
            _counters.Add(Detached, detached);
            _metrics.Pool.CountDetached(detached, TypeTag);
        }
    }

    internal void ReportDetachFailed(Exception ex) => _metrics.Pool.ReportDetachFailed(_logger, ex, typeof(T), TypeTag);

    internal void ReportReturnFailed(Exception ex) => _metrics.Pool.ReportReturnFailed(_logger, ex, typeof(T), TypeTag);

    /// <summary>Checks the probe at the end of a use of <paramref name="state"/>'s object, which is discarded already
    /// if <paramref name="discarding"/>; a finding or a failure sets <paramref name="discard"/> (a finding not with
    /// <see cref="LeakAction.Warn"/>).</summary>
    /// <returns>The probe's finding to throw (<see cref="LeakAction.Throw"/>), or <see langword="null"/>.</returns>
    internal LeaseLeakException? CheckProbe(PooledObjectState<T> state, bool discarding, ref List<Exception>? errors, out bool discard)
    {
        discard = false;
        if (_probe is null)
        {
            return null;
        }

        try
        {
            var now = _probe(state.Value);
            if (now <= state.CountAtRent)
            {
                return null;
            }

            discard = discarding || _onLeak != LeakAction.Warn;
            Interlocked.Increment(ref _leaksSuspected);
            _metrics.Pool.ReportAttachedBehind(_logger, TypeTag, state.CountAtRent, now, discard);
            Raise(LeakSuspected, this, new LeaseLeakEventArgs<T>(state.Value, state.CountAtRent, now, discard), nameof(LeakSuspected));
            return _onLeak == LeakAction.Throw ? new LeaseLeakException(typeof(T), state.CountAtRent, now) : null;
        }
#pragma warning disable CA1031 // a throwing probe must not strand the object: its caller gets the failure, the object is discarded
        catch (Exception ex)
#pragma warning restore CA1031
        {
            AddFailure(ref errors, ex);
            discard = true;
            return null;
        }
    }

    /// <summary>Gets whether a listener above the limit is refused (<see cref="ListenerBudgetAction.Throw"/>).</summary>
    internal bool RefusesAboveLimit => _onExceeded == ListenerBudgetAction.Throw;

    /// <summary>
    /// Judges one more listener of <paramref name="lease"/> on <paramref name="key"/> (under the object's lock): the
    /// count it would make there when that is above the limit and the pool warns or refuses, else 0. The caller refuses
    /// it (<see cref="RefusesAboveLimit"/>, see <see cref="Refuse"/>) or warns once it is attached (once per (object,
    /// event): see <see cref="PooledObjectState{T}.TryMarkWarned"/>), both after leaving the lock.
    /// </summary>
    internal int JudgeLimit(PoolLease<T> lease, string key)
    {
        // A lease with fewer entries than the limit cannot exceed it with one more: no count.
        if (_maxListeners <= 0 || _onExceeded == ListenerBudgetAction.Ignore || lease.AttachmentCount < _maxListeners)
        {
            return 0;
        }

        var count = lease.CountFor(key) + 1;
        return count > _maxListeners ? count : 0;
    }

    /// <summary>Records a refused listener and returns the exception to throw (outside the object's lock: a metric
    /// listener is user code).</summary>
    internal ListenerLimitExceededException Refuse(T value, string key, int count)
    {
        var name = EventNames.Normalize(key);
        _metrics.Pool.ReportLimitExceeded(null, typeof(T), name, count, _maxListeners);
        return new ListenerLimitExceededException(value.GetType(), name, count, _maxListeners);
    }

    internal static void AddFailure(ref List<Exception>? errors, Exception ex) =>
        (errors ??= []).AddRange(ex is AggregateException all ? all.InnerExceptions : [ex]);

    // Takes an object out of the inner pool for a Rent or a Get: its guard state, counted rented.
    private PooledObjectState<T> TakeOut()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var value = _inner.Get();
        var state = _states.GetOrAdd(value, static value => new PooledObjectState<T>(value));
        if (_probe is not null)
        {
            try
            {
                state.CountAtRent = _probe(value);
            }
            catch
            {
                // The object is out of the inner pool already: give it back rather than lose it.
                _inner.Return(value);
                throw;
            }
        }

        _counters.Increment(Rented);
        state.Rented = true;
        return state;
    }

    // Returns the object of an ended use to the inner pool, or disposes it (discard). Counted once it is back (a caller
    // that saw the count can rent this very object), also if that failed: the use is over either way.
    internal Exception? GiveBack(T value, bool discard)
    {
        Exception? failure = null;
        try
        {
            if (discard)
            {
                (value as IDisposable)?.Dispose();
            }
            else
            {
                _inner.Return(value);
            }
        }
#pragma warning disable CA1031 // a callback's caller (an event's raise, a timer) must never see it: logged, and the wait faults
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = ex;
        }

        _counters.Increment(Returned);
        return failure;
    }

    internal void WarnExceeded(T value, string eventName, int count)
    {
        _metrics.Pool.ReportLimitExceeded(_logger, value.GetType(), eventName, count, _maxListeners);
        Raise(MaxListenersExceeded, this, new ListenerLeakEventArgs(value, eventName, count, _maxListeners), nameof(MaxListenersExceeded));
    }

    // Raises one of the pool's events; a throwing handler is logged, never propagated.
    private void Raise<TArgs>(EventHandler<TArgs>? handler, object? sender, TArgs args, string eventName)
    {
        try
        {
            handler?.Invoke(sender, args);
        }
#pragma warning disable CA1031 // reporting never throws
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _metrics.Pool.ReportHandlerFailed(_logger, ex, eventName, TypeTag);
        }
    }
}
