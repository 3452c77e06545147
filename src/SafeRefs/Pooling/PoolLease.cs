using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using SafeRefs.Pooling.Internal;
using SafeRefs.Subscriptions;
using SafeRefs.Timers;

namespace SafeRefs.Pooling;

/// <summary>
/// One use of a pooled object from <see cref="GuardedObjectPool{T}.Rent"/>: attach per-use handlers, registrations and
/// timers through it, and disposing it undoes them all before the object goes back to the pool.
/// </summary>
/// <typeparam name="T">The pooled type.</typeparam>
/// <remarks>
/// <para><b>Holds</b> the pool and the object's guard state strongly (so the object, while the lease lives). The pool
/// holds no reference to the lease: a lease that is never disposed is collected with everything it captured, and the
/// object counts as outstanding.</para>
/// <para><b>Thread safety:</b> all members are thread-safe; the lease may be ended on another thread than it was
/// rented on.</para>
/// <para><b>Dispose:</b> detaches everything tracked (last in, first out; a failing detach does not stop the rest),
/// stops <see cref="Timers"/> (no callback of them starts after it returns) and cancels <see cref="Token"/>, then
/// returns <see cref="Value"/> to the pool once no timer callback, loop body or handler of the lease (see
/// <see cref="On{THandler}(Action{T, THandler}, Action{T, THandler}, THandler, string?)"/>,
/// <see cref="OnCancel(CancellationToken, Action)"/> and <see cref="Track{TDisposable}"/>) is still running — at once, or when the last of them
/// returns; the disposing thread never waits, so disposing from inside such a callback is
/// fine. <see cref="DisposeAsync"/> completes once the object went back. A second <see cref="Dispose"/> does not wait
/// for a first one still running on another thread: until the object went back, it disposes <see cref="Timers"/> and
/// the tracked <see cref="Subscription"/>, <see cref="TimerScope"/>, <see cref="ScopedTimer"/> and
/// <see cref="ScopedLoop"/> items again itself (their second, concurrent <c>Dispose</c> is safe), and every other
/// tracked registration the first has not reached yet (each of those is disposed exactly once, by whichever end
/// reaches it first). After it returns, as after the first, no forwarded handler, <see cref="OnCancel(CancellationToken, Action)"/>
/// callback, or callback of <see cref="Timers"/> or of those tracked SafeRefs items starts; a registration of another
/// type that the first end is still disposing is left to it (its own rules decide when its callbacks stop). A stale lease kept after <see cref="Dispose"/> never affects a later lease of the same object: its members
/// throw <see cref="ObjectDisposedException"/> and its <see cref="Dispose"/> does nothing.</para>
/// </remarks>
public sealed class PoolLease<T> : IDisposable, IAsyncDisposable
    where T : class
{
    private const string RawRegistration = "A lease cannot wait for the callback of a CancellationTokenRegistration ended from inside it, so the object could be reused while it runs: use lease.OnCancel(token, callback) instead of lease.Track(token.Register(callback)).";

    private readonly GuardedObjectPool<T> _pool;
    private readonly PooledObjectState<T> _state;
    private readonly long _version;

    internal PoolLease(GuardedObjectPool<T> pool, PooledObjectState<T> state, long version)
    {
        _pool = pool;
        _state = state;
        _version = version;
    }

    /// <summary>Gets the pooled object.</summary>
    /// <value>The object, for the duration of the lease.</value>
    /// <exception cref="ObjectDisposedException">The lease has ended.</exception>
    public T Value
    {
        get
        {
            GuardedObjectPool<T>.ThrowIfEnded(_state, _version);
            return _state.Value;
        }
    }

    /// <summary>Gets how many handlers and registrations the lease currently tracks.</summary>
    /// <value>0 once the lease has ended.</value>
    public int TrackedCount
    {
        get
        {
            lock (_state.Lock)
            {
                return _state.IsCurrent(_version) ? _state.AttachmentCount : 0;
            }
        }
    }

    /// <summary>Gets a token that is cancelled when the lease ends: bind per-use work to it.</summary>
    /// <value>Created on first use. Cancellation only requests that work bound to it stops; a timer callback or loop
    /// body of <see cref="Timers"/> is waited for before the object goes back, other work is not.</value>
    /// <exception cref="ObjectDisposedException">The lease has ended.</exception>
    public CancellationToken Token
    {
        get
        {
            lock (_state.Lock)
            {
                GuardedObjectPool<T>.ThrowIfEnded(_state, _version);
                _state.Cts ??= new CancellationTokenSource();
                return _state.Cts.Token;
            }
        }
    }

    /// <summary>Gets a timer scope for per-use timers and loops; it is disposed when the lease ends, and the object goes
    /// back to the pool only after its running callbacks and bodies have returned.</summary>
    /// <value>Created on first use, on the pool's <see cref="GuardedObjectPoolOptions{T}.TimeProvider"/>, logging to the
    /// pool's <see cref="GuardedObjectPoolOptions{T}.Logger"/>, reporting failures to
    /// <see cref="GuardedObjectPool{T}.TimerError"/> (never as unhandled exceptions), and recording to the pool's
    /// <see cref="GuardedObjectPoolOptions{T}.MeterFactory"/> meter with the pooled type's name as its
    /// <see cref="TimerScope.Name"/>.</value>
    /// <exception cref="ObjectDisposedException">The lease has ended.</exception>
    public TimerScope Timers
    {
        get
        {
            lock (_state.Lock)
            {
                GuardedObjectPool<T>.ThrowIfEnded(_state, _version);
                return _state.Timers ??= _pool.CreateLeaseTimers();
            }
        }
    }

    /// <summary>Attaches <paramref name="handler"/> to an event of <see cref="Value"/> and tracks it for removal when the lease ends.</summary>
    /// <typeparam name="THandler">The event's delegate type.</typeparam>
    /// <param name="add">Adds a handler, e.g. <c>static (c, h) =&gt; c.DataReceived += h</c>.</param>
    /// <param name="remove">Removes a handler, e.g. <c>static (c, h) =&gt; c.DataReceived -= h</c>.</param>
    /// <param name="handler">The per-use handler.</param>
    /// <param name="eventName">The event's name for the per-lease limit; by default the text of <paramref name="add"/>.</param>
    /// <returns>This lease, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="add"/>, <paramref name="remove"/> or <paramref name="handler"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The lease has ended.</exception>
    /// <exception cref="ListenerLimitExceededException">The per-lease limit is reached and the action is <see cref="ListenerBudgetAction.Throw"/>; nothing was attached.</exception>
    /// <remarks>
    /// <para>For <see cref="EventHandler"/>, <see cref="EventHandler{TEventArgs}"/>,
    /// <see cref="System.ComponentModel.PropertyChangedEventHandler"/>,
    /// <see cref="System.ComponentModel.PropertyChangingEventHandler"/>,
    /// <see cref="System.Collections.Specialized.NotifyCollectionChangedEventHandler"/>, <see cref="Action"/>,
    /// <see cref="Action{T}"/> and <see cref="Action{T1, T2}"/> events (the latter two through their own overloads, which
    /// the compiler picks for them) the event holds a forwarder, not <paramref name="handler"/> itself (so <c>-= handler</c> does not remove it): once the
    /// lease's <see cref="Dispose"/> returns no invocation of the handler starts, and the object goes back to the pool
    /// only after an invocation that was running on another thread has returned.</para>
    /// <para>For any other delegate type the event holds the forwarder registered for that type through
    /// <see cref="SafeRefs.Subscriptions.EventForwarders"/>, with the same guarantees (a raise it refuses returns
    /// <see langword="default"/>); the SafeRefs source generator registers one for every concrete delegate type a
    /// compilation passes here. For a delegate type unknown at compile time and not registered, the handler itself is
    /// added, with plain .NET event semantics: a raise on another thread that had already read the event's delegate may
    /// still call it once after the lease ended, and the lease cannot wait for it.</para>
    /// </remarks>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The EventHandler<TArgs> overload exists so the compiler picks the gated forwarder for that shape, as Subscribe.Event does.")]
    public PoolLease<T> On<THandler>(
        Action<T, THandler> add,
        Action<T, THandler> remove,
        THandler handler,
        [CallerArgumentExpression(nameof(add))] string? eventName = null)
        where THandler : Delegate
    {
        var forwarder = new LeaseForwarder<T>(_state, _version, handler);
        _pool.Attach(_state, _version, add, remove, forwarder, forwarder.As<THandler>(), eventName);
        return this;
    }

    /// <summary>Attaches <paramref name="handler"/> to an <see cref="EventHandler{TEventArgs}"/> event of
    /// <see cref="Value"/> and tracks it for removal when the lease ends; the overload the compiler picks for such events
    /// (see <see cref="On{THandler}(Action{T, THandler}, Action{T, THandler}, THandler, string?)"/>).</summary>
    /// <typeparam name="TArgs">The event's argument type.</typeparam>
    /// <param name="add">Adds a handler, e.g. <c>static (c, h) =&gt; c.DataReceived += h</c>.</param>
    /// <param name="remove">Removes a handler, e.g. <c>static (c, h) =&gt; c.DataReceived -= h</c>.</param>
    /// <param name="handler">The per-use handler.</param>
    /// <param name="eventName">The event's name for the per-lease limit; by default the text of <paramref name="add"/>.</param>
    /// <returns>This lease, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="add"/>, <paramref name="remove"/> or <paramref name="handler"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The lease has ended.</exception>
    /// <exception cref="ListenerLimitExceededException">The per-lease limit is reached and the action is <see cref="ListenerBudgetAction.Throw"/>; nothing was attached.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The EventHandler<TArgs> overload exists so the compiler picks the gated forwarder for that shape, as Subscribe.Event does.")]
    public PoolLease<T> On<TArgs>(
        Action<T, EventHandler<TArgs>> add,
        Action<T, EventHandler<TArgs>> remove,
        EventHandler<TArgs> handler,
        [CallerArgumentExpression(nameof(add))] string? eventName = null)
    {
        var forwarder = new LeaseForwarder<T>(_state, _version, handler);
        _pool.Attach(_state, _version, add, remove, forwarder, forwarder.AsEventHandler<TArgs>(), eventName);
        return this;
    }

    /// <summary>Attaches <paramref name="handler"/> to an <see cref="Action{T}"/> event of <see cref="Value"/> and tracks
    /// it, through a forwarder (see <see cref="On{THandler}(Action{T, THandler}, Action{T, THandler}, THandler, string?)"/>).</summary>
    /// <typeparam name="TArg">The event's argument type.</typeparam>
    /// <param name="add">Adds a handler, e.g. <c>static (c, h) =&gt; c.Closed += h</c>.</param>
    /// <param name="remove">Removes a handler, e.g. <c>static (c, h) =&gt; c.Closed -= h</c>.</param>
    /// <param name="handler">The per-use handler.</param>
    /// <param name="eventName">The event's name for the per-lease limit; by default the text of <paramref name="add"/>.</param>
    /// <returns>This lease, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="add"/>, <paramref name="remove"/> or <paramref name="handler"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The lease has ended.</exception>
    /// <exception cref="ListenerLimitExceededException">The per-lease limit is reached and the action is <see cref="ListenerBudgetAction.Throw"/>; nothing was attached.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overload exists so the compiler picks the gated forwarder for that shape.")]
    public PoolLease<T> On<TArg>(
        Action<T, Action<TArg>> add,
        Action<T, Action<TArg>> remove,
        Action<TArg> handler,
        [CallerArgumentExpression(nameof(add))] string? eventName = null)
    {
        var forwarder = new LeaseForwarder<T>(_state, _version, handler);
        _pool.Attach(_state, _version, add, remove, forwarder, forwarder.AsAction<TArg>(), eventName);
        return this;
    }

    /// <summary>Attaches <paramref name="handler"/> to an <see cref="Action{T1, T2}"/> event of <see cref="Value"/> and
    /// tracks it, through a forwarder (see <see cref="On{THandler}(Action{T, THandler}, Action{T, THandler}, THandler, string?)"/>).</summary>
    /// <typeparam name="TArg1">The event's first argument type.</typeparam>
    /// <typeparam name="TArg2">The event's second argument type.</typeparam>
    /// <param name="add">Adds a handler, e.g. <c>static (c, h) =&gt; c.Received += h</c>.</param>
    /// <param name="remove">Removes a handler, e.g. <c>static (c, h) =&gt; c.Received -= h</c>.</param>
    /// <param name="handler">The per-use handler.</param>
    /// <param name="eventName">The event's name for the per-lease limit; by default the text of <paramref name="add"/>.</param>
    /// <returns>This lease, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="add"/>, <paramref name="remove"/> or <paramref name="handler"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The lease has ended.</exception>
    /// <exception cref="ListenerLimitExceededException">The per-lease limit is reached and the action is <see cref="ListenerBudgetAction.Throw"/>; nothing was attached.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overload exists so the compiler picks the gated forwarder for that shape.")]
    public PoolLease<T> On<TArg1, TArg2>(
        Action<T, Action<TArg1, TArg2>> add,
        Action<T, Action<TArg1, TArg2>> remove,
        Action<TArg1, TArg2> handler,
        [CallerArgumentExpression(nameof(add))] string? eventName = null)
    {
        var forwarder = new LeaseForwarder<T>(_state, _version, handler);
        _pool.Attach(_state, _version, add, remove, forwarder, forwarder.AsAction<TArg1, TArg2>(), eventName);
        return this;
    }

    /// <summary>Runs <paramref name="callback"/> when <paramref name="token"/> is cancelled during the lease, as one of
    /// the lease's callbacks: the registration is removed when the lease ends, no run starts once <see cref="Dispose"/>
    /// returned, and the object goes back to the pool only after a running one returned.</summary>
    /// <param name="token">The token, for example an application's or a request's; not the lease's own
    /// <see cref="Token"/>, which is cancelled when the lease has already ended.</param>
    /// <param name="callback">Runs on the thread that cancels the token (at once, before this returns, if it is
    /// cancelled already), without its ExecutionContext flowing from here; its exceptions go to the canceller, as with
    /// <see cref="CancellationToken.Register(Action)"/>.</param>
    /// <returns>This lease, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="token"/> is the lease's own <see cref="Token"/>.</exception>
    /// <exception cref="ObjectDisposedException">The lease has ended.</exception>
    /// <remarks>Calling <see cref="Dispose"/> inside the callback is fine; the task of <see cref="DisposeAsync"/> called
    /// there completes once the callback has returned.</remarks>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1068:CancellationToken parameters must come last", Justification = "The token is the source the callback is registered on, not a way to cancel this call, as in Subscribe.OnCancel.")]
    public PoolLease<T> OnCancel(CancellationToken token, Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        lock (_state.Lock)
        {
            GuardedObjectPool<T>.ThrowIfEnded(_state, _version);
            if (_state.Cts is { } own && token == own.Token)
            {
                throw new ArgumentException("The lease's own Token is cancelled only after the lease ended, when no callback of the lease starts any more; register on it directly.", nameof(token));
            }
        }

        if (token.CanBeCanceled)
        {
            // Registered outside the lock: a token cancelled already runs the callback here, and a concurrent end must
            // not wait for it. The callback enters through the lease's gate as a forwarded handler does.
            var registration = token.UnsafeRegister(static run => Unsafe.As<Action>(run!)(), new LeaseForwarder<T>(_state, _version, callback).As<Action>());
            lock (_state.Lock)
            {
                if (!_state.IsCurrent(_version))
                {
                    // Ended meanwhile (perhaps by the callback itself): its gate admits no run any more.
                    registration.Unregister();
                    return this;
                }

                _state.Reserve();
                _state.AppendReserved(null, registration, null, null);
            }
        }

        return this;
    }

    /// <summary>Tracks a registration (a <see cref="Subscription"/>, a <see cref="TimerScope"/>…) to dispose when the lease ends.</summary>
    /// <remarks>A registration that is also <see cref="IAsyncDisposable"/> is disposed with
    /// <see cref="IAsyncDisposable.DisposeAsync"/> instead of <see cref="IDisposable.Dispose"/>, and the object goes back
    /// to the pool only once that has completed: for a <see cref="Subscription"/>, once a callback of it running on
    /// another thread has returned (the disposing thread does not wait). A failure that completes later is logged
    /// (event id 1302) and the object is discarded. Disposed exactly once, unless it is a <see cref="Subscription"/>,
    /// <see cref="TimerScope"/>, <see cref="ScopedTimer"/> or <see cref="ScopedLoop"/>, which a concurrent second end of
    /// the lease disposes again (see <see cref="Dispose"/>). A <see cref="CancellationTokenRegistration"/> is refused: its
    /// callback cannot be waited for from inside itself; register token callbacks with
    /// <see cref="OnCancel(CancellationToken, Action)"/>.</remarks>
    /// <typeparam name="TDisposable">The registration type.</typeparam>
    /// <param name="registration">The registration.</param>
    /// <returns><paramref name="registration"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="registration"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="registration"/> is a <see cref="CancellationTokenRegistration"/>.</exception>
    /// <exception cref="ObjectDisposedException">The lease has ended (the registration is not disposed).</exception>
    public TDisposable Track<TDisposable>(TDisposable registration)
        where TDisposable : IDisposable
    {
        ArgumentNullException.ThrowIfNull(registration);
        if (registration is CancellationTokenRegistration)
        {
            throw new ArgumentException(RawRegistration, nameof(registration));
        }

        lock (_state.Lock)
        {
            GuardedObjectPool<T>.ThrowIfEnded(_state, _version);
            _state.Reserve();
            _state.AppendReserved(null, registration, null, null);
        }

        return registration;
    }

    /// <summary>Refused at compile time: use <see cref="OnCancel(CancellationToken, Action)"/> instead.</summary>
    /// <param name="registration">The registration.</param>
    /// <returns>Never returns.</returns>
    /// <exception cref="ArgumentException">Always.</exception>
    [Obsolete(RawRegistration, error: true)]
    [EditorBrowsable(EditorBrowsableState.Never)]
    public CancellationTokenRegistration Track(CancellationTokenRegistration registration) => Track<CancellationTokenRegistration>(registration);

    /// <summary>Ends the lease: detaches everything tracked, stops timers, cancels <see cref="Token"/>, and returns the
    /// object once no timer callback, loop body or handler of the lease still runs (without waiting for that here).</summary>
    /// <exception cref="AggregateException">Some detaches, token callbacks or the probe threw (or the timer scope's logger); everything else was still undone and the object discarded. A failure of the return itself (the inner pool's, or a discarded object's <c>Dispose</c>) is among them; alone, it is thrown as is.</exception>
    /// <exception cref="LeaseLeakException">The probe found listeners attached behind the lease and the pool is set to <see cref="LeakAction.Throw"/>.</exception>
    public void Dispose()
    {
        if (_pool.End(_state, _version, awaitReturn: false, out _) is { } failure)
        {
            ExceptionDispatchInfo.Throw(failure);
        }
    }

    /// <summary>Ends the lease, as <see cref="Dispose"/>, and completes once the object went back to the pool (or was
    /// discarded).</summary>
    /// <returns>A task that completes when no timer callback, loop body or handler of the lease runs any more and the
    /// object is back; it faults with the exceptions <see cref="Dispose"/> would throw, and with
    /// <see cref="InvalidOperationException"/> when called inside one of the lease's own timer callbacks or loop bodies,
    /// those of a tracked <see cref="TimerScope"/>, <see cref="ScopedTimer"/> or <see cref="ScopedLoop"/>, or the
    /// handler of a tracked <c>AsyncWeakEvent</c> token (also after an <see langword="await"/> in it), which it would
    /// wait for forever. Inside a forwarded <c>On</c> handler, an <c>OnCancel</c> callback or the (synchronous)
    /// callback of another tracked subscription it completes once that callback has returned: await it there, never
    /// block on it.</returns>
    public ValueTask DisposeAsync()
    {
        var failure = _pool.End(_state, _version, awaitReturn: true, out var returned);
        return failure is null ? returned : ThrowAfterAsync(returned, failure);
    }

    private static async ValueTask ThrowAfterAsync(ValueTask returned, Exception failure)
    {
        await returned.ConfigureAwait(false);
        ExceptionDispatchInfo.Throw(failure);
    }
}
