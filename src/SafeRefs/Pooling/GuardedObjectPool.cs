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
/// that threads renting and ending leases at once do not contend. It never references a lease.</para>
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
    /// <remarks>The sender is the pool; raised on the returning thread; a throwing handler is logged, not propagated.</remarks>
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
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var state = Begin(_inner.Get(), out var version);
        return new PoolLease<T>(this, state, version);
    }

    /// <summary>Gets an object without a lease (counted in <see cref="Statistics"/>; the probe still checks it at return).</summary>
    /// <returns>The object.</returns>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    public override T Get()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return Begin(_inner.Get(), out _).Value;
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
    /// Returns an object: ends the lease it is out under (detaching what that lease tracked), checks the probe, then
    /// returns it to the inner pool (or discards it).
    /// </summary>
    /// <param name="obj">The object. One that was never rented from this pool goes to the inner pool as is (once);
    /// one that is not out (returned already) is ignored, so a second return never puts it in the inner pool twice.
    /// A stale return of an object that another caller has rented since ends that caller's lease.</param>
    /// <exception cref="ArgumentNullException"><paramref name="obj"/> is <see langword="null"/>.</exception>
    public override void Return(T obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var state = _states.GetOrAdd(obj, static (value, pool) => new PooledObjectState<T>(pool, value), this);
        var version = state.Version;
        if ((version & 1) == 0)
        {
            // Not out through this pool. Never rented here (version 0): hand it to the inner pool once, marked as
            // returned. Returned already: do nothing, since the inner pool would hold it twice.
            if (version == 0 && state.TryMarkReturnedUnrented())
            {
                _inner.Return(obj);
            }

            return;
        }

        if (End(state, version, awaitReturn: false, out _) is { } failure)
        {
            ExceptionDispatchInfo.Throw(failure);
        }
    }

    /// <summary>Creates the timer scope of one lease: on the pool's clock, logger and meter, reporting to <see cref="TimerError"/>.</summary>
    internal TimerScope CreateLeaseTimers()
    {
        var timers = new TimerScope(TimeProvider) { Name = TypeTag.Value as string, MeterFactory = _meterFactory, Logger = _timerLogger };
        timers.Error += _onLeaseTimerError;
        return timers;
    }

    /// <summary>Adds <paramref name="attached"/> (what <paramref name="forwarder"/> forwards through, or the handler) to
    /// the event and tracks it.</summary>
    internal void Attach<THandler>(PooledObjectState<T> state, long version, Action<T, THandler> add, Action<T, THandler> remove, LeaseForwarder<T> forwarder, THandler attached, string? key)
        where THandler : Delegate
    {
        ArgumentNullException.ThrowIfNull(add); // the parameters of On
        ArgumentNullException.ThrowIfNull(remove);
        key ??= "(unnamed)";
        var warnCount = 0;

        lock (state.Lock)
        {
            ThrowIfEnded(state, version);

            // A lease tracking fewer attachments than the limit cannot exceed it with one more: skip the count.
            if (_maxListeners > 0 && state.AttachmentCount >= _maxListeners)
            {
                warnCount = JudgeLimit(state, key);
            }
        }

        // The accessors are user code and run outside the lock (an end inside a handler raised under the source's own
        // lock must not wait for an add that waits for that lock), counted in the lease's gate as a callback is, so
        // that the object does not go back while they run; an end meanwhile leaves the handler to this attacher.
        if (!state.Admit(version))
        {
            throw Ended();
        }

        var tracked = false;
        try
        {
            // Admitted by the low bits of its version (see the gate): a lease 2^31 leases older is not current.
            ThrowIfEnded(state, version);
            try
            {
                add(state.Value, attached);
            }
            catch
            {
                // The accessor may have attached before it threw: nothing untracked may stay on the pooled object. The
                // accessor's failure is the one the caller gets; the remove's is logged.
                List<Exception>? logged = null;
                Detach(state, remove, attached, ref logged);
                throw;
            }

            lock (state.Lock)
            {
                if (state.IsCurrent(version))
                {
                    state.Reserve();
                    state.AppendReserved(remove, attached, key, forwarder);
                    tracked = true;
                }
            }

            if (!tracked)
            {
                // The lease ended while the add accessor ran (perhaps inside it): take the handler off again.
                forwarder.Release();
                remove(state.Value, attached);
                throw new ObjectDisposedException(nameof(PoolLease<T>), "The lease ended while its add accessor ran; the handler was removed again.");
            }
        }
        finally
        {
            if (state.Exit())
            {
                HandBack(state, report: true);
            }
        }

        if (warnCount > 0)
        {
            WarnExceeded(state.Value, EventNames.Normalize(key), warnCount);
        }
    }

    internal static void ThrowIfEnded(PooledObjectState<T> state, long version)
    {
        if (!state.IsCurrent(version))
        {
            throw Ended();
        }
    }

    private static ObjectDisposedException Ended() => new(nameof(PoolLease<T>), "The lease has ended; its object may already serve another lease.");

    /// <summary>
    /// Ends the lease <paramref name="version"/> of the object (nothing if it has ended already): closes its gate (no
    /// forwarded handler of it starts any more), detaches what it tracked, stops its timers, cancels its token, checks
    /// the probe, then returns the object to the inner pool (or discards it) — at once, or when the last of the lease's
    /// running handlers, timer callbacks, loop bodies and tracked subscription callbacks returns. Never waits for them.
    /// </summary>
    /// <param name="state">The object's guard state.</param>
    /// <param name="version">The lease's version.</param>
    /// <param name="awaitReturn">Whether the caller waits for the object to go back (<c>DisposeAsync</c>).</param>
    /// <param name="returned">Completes when the object went back to the inner pool (or was discarded).</param>
    /// <returns>The failure to throw to the caller (after everything was undone), or <see langword="null"/>.</returns>
    internal Exception? End(PooledObjectState<T> state, long version, bool awaitReturn, out ValueTask returned)
    {
        returned = default;
        LeaseAttachment<T>[] attachments = [];
        var count = 0;
        CancellationTokenSource? cts = null;
        TimerScope? timers = null;
        object?[]? ended = null;
        var takingOver = false;
        lock (state.Lock)
        {
            if (state.IsCurrent(version))
            {
                // Until its own Exit below, the end counts as running: a handler that returns meanwhile never hands the
                // object back while the end still detaches from it.
                state.Close();
                attachments = state.Attachments;
                count = state.AttachmentCount;
                state.AttachmentCount = 0;
                cts = state.Cts;
                state.Cts = null;
                timers = state.Timers;
                state.Timers = null;
                ended = state.EndedItems = ItemsToEnd(timers, attachments, count);
                state.EndedFor = version;
            }
            else if (state.EndedFor == version && state.EndedItems is { } items && state.TryJoin(version))
            {
                // Ending on another thread, which may not have reached the registrations and timers yet (it may be held
                // in user code): this end counts as running too and ends them itself (see Claim), so that none of
                // their callbacks starts after it returns, without waiting for the other end.
                ended = items;
                takingOver = true;
            }
            else
            {
                // Ended, and nothing of the lease runs any more (or a later lease of the object has ended too).
                if (awaitReturn)
                {
                    returned = state.WhenHandedBack(version);
                }

                return null;
            }
        }

        // User code from here on (remove accessors, registrations, token callbacks, the probe, event handlers): nothing
        // of it runs under the lock, and no failure stops the rest.
        List<Exception>? errors = null;
        Exception? leak = null;
        if (takingOver)
        {
            // Last in, first out, as the first end (the lease's timers last).
            for (var i = ended!.Length - 1; i >= 0; i--)
            {
                if (Claim(ended, i) is { } item)
                {
                    Detach(state, null, item, ref errors);
                }
            }
        }
        else
        {
            leak = EndFirst(state, attachments, count, ended, timers, cts, ref errors);
        }

        if (errors is not null)
        {
            state.Discard = true;
        }

        // A failing return reaches the caller with the other failures (a DisposeAsync as a faulted task).
        Exception? returnFailure = null;
        if (state.Exit())
        {
            returnFailure = HandBack(state, report: false);
        }
        else if (awaitReturn)
        {
            // The object goes back once this timer callback (or async body) returns: a wait for that inside it would
            // never end. A synchronous handler returns before an await in it resumes, so it simply waits.
            returned = WaitsForCaller(state, version)
                ? ValueTask.FromException(new InvalidOperationException("PoolLease.DisposeAsync was awaited inside a timer callback or loop body of the lease, or a callback of a timer item or subscription it tracks, which it would wait for forever. The lease has ended; call Dispose there instead."))
                : state.WhenHandedBack(version);
        }

        if (errors is not null)
        {
            if (returnFailure is not null)
            {
                errors.Add(returnFailure);
            }

            return new AggregateException("Ending a pool lease: some tracked listeners, registrations or token callbacks failed; the object was discarded.", errors);
        }

        return leak is null || returnFailure is null ? leak ?? returnFailure : new AggregateException(leak, returnFailure);
    }

    /// <summary>The first end's work after it closed the gate: detaches, stops the timers, cancels the token and checks
    /// the probe.</summary>
    /// <returns>The probe's finding to throw (<see cref="LeakAction.Throw"/>), or <see langword="null"/>.</returns>
    private LeaseLeakException? EndFirst(PooledObjectState<T> state, LeaseAttachment<T>[] attachments, int count, object?[]? ended, TimerScope? timers, CancellationTokenSource? cts, ref List<Exception>? errors)
    {
        var value = state.Value;
        var detached = DetachAll(state, attachments, count, ended, ref errors);
        if (detached > 0)
        {
            _counters.Add(Detached, detached);
            _metrics.Pool.CountDetached(detached, TypeTag);
        }

        if (timers is not null)
        {
            // No new callback starts after this; the ones running are joined to the gate.
            Detach(state, null, timers, ref errors);
        }

        if (cts is not null)
        {
            try
            {
                cts.Cancel();
            }
#pragma warning disable CA1031 // token callbacks are user code: no failure stops the end
            catch (Exception ex)
#pragma warning restore CA1031
            {
                AddFailure(ref errors, ex);
            }
            finally
            {
                cts.Dispose();
            }
        }

        var discard = errors is not null;
        LeaseLeakException? leak = null;
        try
        {
            if (_probe is not null && CheckProbe(value, state.CountAtRent, ref discard, out var now))
            {
                leak = new LeaseLeakException(typeof(T), state.CountAtRent, now);
            }
        }
#pragma warning disable CA1031 // a throwing probe must not strand the object: its caller gets the failure, the object is discarded
        catch (Exception ex)
#pragma warning restore CA1031
        {
            AddFailure(ref errors, ex);
            discard = true;
        }

        if (discard)
        {
            state.Discard = true;
        }

        return leak;
    }

    /// <summary>
    /// Hands the object of an ended lease back, by the one whose <see cref="PooledObjectState{T}.Exit"/> drained its gate
    /// (so nothing of the lease runs), and completes a <c>DisposeAsync</c> that waits. A failure is returned to the end
    /// that drained it; from a callback (<paramref name="report"/>), it is logged, never thrown into the callback's caller.
    /// </summary>
    internal Exception? HandBack(PooledObjectState<T> state, bool report)
    {
        // Read before the object goes back: from then on, the next lease owns the state.
        var version = state.Version - 1;
        var discard = state.Discard;
        state.Discard = false;
        Exception? failure = null;
        try
        {
            if (discard)
            {
                (state.Value as IDisposable)?.Dispose();
            }
            else
            {
                _inner.Return(state.Value);
            }
        }
#pragma warning disable CA1031 // a callback's caller (an event's raise, a timer) must never see it: logged, and the wait faults
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = ex;
        }

        // Counted once it is back (a caller that saw the count can rent this very object), also if the return failed:
        // the lease is over either way.
        _counters.Increment(Returned);
        state.HandedBack(version, failure);
        if (failure is not null && report)
        {
            _metrics.Pool.ReportReturnFailed(_logger, failure, typeof(T), TypeTag);
            return null;
        }

        return failure;
    }

    /// <summary>Gets whether the caller runs inside a timer callback, loop body or asynchronous handler that the
    /// hand-back of the ended lease <paramref name="version"/> waits for: one of the lease's timers, or of a tracked
    /// timer scope, timer, loop or subscription, also one the end (on another thread) has not reached yet.</summary>
    private static bool WaitsForCaller(PooledObjectState<T> state, long version)
    {
        lock (state.Lock)
        {
            return state.EndedFor == version && state.EndedItems is { } items && Array.Exists(items, static item => item is Subscription subscription ? subscription.IsCallingFromOwnCallback : item is not null && TimerScope.IsCallingFromCallbackOf(item));
        }
    }

    /// <summary>
    /// Ends the lease's timer scope or a tracked timer scope, timer or loop: its <c>Dispose</c> never blocks,
    /// and its idle wait, unlike <c>DisposeAsync</c>, does not fault when the end runs inside one of its callbacks.
    /// The wait is joined also when <c>Dispose</c> threw (a failing clock): a callback may still be running.
    /// </summary>
    private void EndTimerItem(PooledObjectState<T> state, IDisposable item)
    {
        try
        {
            item.Dispose();
        }
        finally
        {
            JoinUntilDone(state, TimerScope.WhenIdleOf(item));
        }
    }

    /// <summary>What an end disposes rather than detaches: the lease's timer scope (first, so ended last) and the
    /// tracked registrations, in the order they were tracked. Taken by the first end before it runs any user code and
    /// kept until the object went back: a later end ends them too (see <see cref="Claim"/>), and the hand-back waits for
    /// a callback of any of them that runs, so a <c>DisposeAsync</c> inside one is a self-wait even while the first end
    /// still detaches others.</summary>
    private static object?[]? ItemsToEnd(TimerScope? timers, LeaseAttachment<T>[] attachments, int count)
    {
        var length = timers is null ? 0 : 1;
        for (var i = 0; i < count; i++)
        {
            length += attachments[i].Remove is null ? 1 : 0;
        }

        if (length == 0)
        {
            return null;
        }

        var items = new object?[length];
        length = 0;
        if (timers is not null)
        {
            items[length++] = timers;
        }

        for (var i = 0; i < count; i++)
        {
            if (attachments[i].Remove is null)
            {
                items[length++] = attachments[i].Handler;
            }
        }

        return items;
    }

    /// <summary>Gets the item at <paramref name="index"/> of an ended lease's <see cref="ItemsToEnd"/> for an end to
    /// dispose: a <see cref="Subscription"/>, <see cref="TimerScope"/>, <see cref="ScopedTimer"/> or
    /// <see cref="ScopedLoop"/> for every end (a second, concurrent <c>Dispose</c> of them returns only once no callback
    /// of them can start); any other registration for the one end that takes it first (its own rules may not allow a
    /// second or concurrent <c>Dispose</c>), else <see langword="null"/>.</summary>
    private static object? Claim(object?[] ended, int index) =>
        ended[index] is Subscription or TimerScope or ScopedTimer or ScopedLoop ? ended[index] : Interlocked.Exchange(ref ended[index], null);

    /// <summary>Joins what <paramref name="running"/> waits for to the ended lease's gate, if it is still running; a
    /// failure it completed with already is thrown here (the caller's detach failure).</summary>
    private void JoinUntilDone(PooledObjectState<T> state, ValueTask running)
    {
        if (running.IsCompleted)
        {
            running.GetAwaiter().GetResult();
            return;
        }

        state.Join();
        _ = ExitWhenDoneAsync(state, running);
    }

    private async Task ExitWhenDoneAsync(PooledObjectState<T> state, ValueTask running)
    {
        try
        {
            await running.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // nobody waits to be told: logged, and the object is not reused
        catch (Exception ex)
#pragma warning restore CA1031
        {
            state.Discard = true;
            _metrics.Pool.ReportDetachFailed(_logger, ex, typeof(T), TypeTag);
        }

        if (state.Exit())
        {
            HandBack(state, report: true);
        }
    }

    /// <summary>Detaches the attachments, last in first out, clearing each; a failing detach does not stop the others.
    /// A registration is taken from <paramref name="ended"/> (see <see cref="Claim"/>).</summary>
    /// <returns>How many were detached without a failure (or by another end).</returns>
    private int DetachAll(PooledObjectState<T> state, LeaseAttachment<T>[] attachments, int count, object?[]? ended, ref List<Exception>? errors)
    {
        var detached = 0;
        var registration = ended?.Length ?? 0;
        for (var i = count - 1; i >= 0; i--)
        {
            // Cleared first, and the forwarder lets go of the handler (the gate is closed), so that the handler and what
            // it captured are collectable while the object stays pooled or a raise still holds the forwarder.
            var attachment = attachments[i];
            attachments[i] = default;
            attachment.Forwarder?.Release();
            var item = attachment.Remove is null ? Claim(ended!, --registration) : attachment.Handler!;
            if (item is null || Detach(state, attachment.Remove, item, ref errors))
            {
                detached++;
            }
        }

        return detached;
    }

    /// <summary>
    /// Removes a handler (<paramref name="remove"/> set) or disposes a registration, the lease's timer scope or a tracked
    /// one; a failure is logged and added to <paramref name="errors"/>. A registration that is also
    /// <see cref="IAsyncDisposable"/> is disposed with <see cref="IAsyncDisposable.DisposeAsync"/> only, which is joined
    /// to the gate (the end of a callback of it that is still running).
    /// </summary>
    private bool Detach(PooledObjectState<T> state, object? remove, object item, ref List<Exception>? errors)
    {
        try
        {
            if (remove is not null)
            {
                // Remove is an Action<T, THandler> with THandler a delegate type and item a THandler: invoking it
                // through Action<T, Delegate> passes the same two references to the same method.
                Unsafe.As<Action<T, Delegate>>(remove)(state.Value, Unsafe.As<Delegate>(item));
            }
            else if (item is TimerScope or ScopedTimer or ScopedLoop)
            {
                EndTimerItem(state, (IDisposable)item);
            }
            else if (item is IAsyncDisposable registration)
            {
                // DisposeAsync alone: Dispose may block until a callback running elsewhere returns
                // (CancellationTokenRegistration); the object waits for it instead. A token's wait does not fault
                // when the end runs inside its own handler (the own-callback check asks the token itself).
                JoinUntilDone(state, registration is Subscription subscription ? subscription.DisposeThenWhenIdleAsync() : registration.DisposeAsync());
            }
            else
            {
                ((IDisposable)item).Dispose();
            }

            return true;
        }
#pragma warning disable CA1031 // a failing detach must not stop the others; failures are rethrown together
        catch (Exception ex)
#pragma warning restore CA1031
        {
            AddFailure(ref errors, ex);
            _metrics.Pool.ReportDetachFailed(_logger, ex, typeof(T), TypeTag);
            return false;
        }
    }

    // Returns true if the probe's finding must be thrown (LeakAction.Throw).
    private bool CheckProbe(T value, int countAtRent, ref bool discard, out int now)
    {
        now = _probe!(value);
        if (now <= countAtRent)
        {
            return false;
        }

        discard |= _onLeak != LeakAction.Warn;
        Interlocked.Increment(ref _leaksSuspected);
        _metrics.Pool.ReportAttachedBehind(_logger, TypeTag, countAtRent, now, discard);
        Raise(LeakSuspected, this, new LeaseLeakEventArgs<T>(value, countAtRent, now, discard), nameof(LeakSuspected));
        return _onLeak == LeakAction.Throw;
    }

    /// <summary>
    /// Counts the lease's listeners on <paramref name="key"/> with one more (under the lock): refuses with
    /// <see cref="ListenerBudgetAction.Throw"/>, or returns the count to warn about (once per object and event), or 0.
    /// </summary>
    private int JudgeLimit(PooledObjectState<T> state, string key)
    {
        var count = state.CountFor(key) + 1;
        if (count <= _maxListeners)
        {
            return 0;
        }

        if (_onExceeded == ListenerBudgetAction.Throw)
        {
            var name = EventNames.Normalize(key);
            _metrics.Pool.ReportLimitExceeded(null, typeof(T), name, count, _maxListeners);
            throw new ListenerLimitExceededException(state.Value.GetType(), name, count, _maxListeners);
        }

        return _onExceeded == ListenerBudgetAction.Warn && state.TryMarkWarned(EventNames.Normalize(key)) ? count : 0;
    }

    private PooledObjectState<T> Begin(T value, out long version)
    {
        var state = _states.GetOrAdd(value, static (value, pool) => new PooledObjectState<T>(pool, value), this);
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

        // The object is in no one else's hands: a stale lease only reads the version and finds it moved.
        version = state.Open();
        return state;
    }

    private void WarnExceeded(T value, string eventName, int count)
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

    private static void AddFailure(ref List<Exception>? errors, Exception ex) =>
        (errors ??= []).AddRange(ex is AggregateException all ? all.InnerExceptions : [ex]);
}
