using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using SafeRefs.Internal;
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
/// reaches the lease only through the object (its guard state is keyed weakly by the object, until the object went
/// back): a lease that is never disposed is collected with its object and everything it captured, and the object
/// counts as outstanding.</para>
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
/// the tracked SafeRefs registrations (<see cref="Subscription"/>, <see cref="SubscriptionBag"/>,
/// <see cref="TimerScope"/>, <see cref="ScopedTimer"/> and <see cref="ScopedLoop"/> items; their second, concurrent
/// disposal is safe) again itself, and every other tracked registration the first has not reached yet (each of those
/// is disposed exactly once, by whichever end reaches it first). After it returns, as after the first, no forwarded
/// handler, <see cref="OnCancel(CancellationToken, Action)"/> callback, or callback of <see cref="Timers"/> or of those
/// tracked SafeRefs items (a tracked bag's such items included) starts; a registration of another type that the first
/// end is still disposing is left to it (its own rules
/// decide when its callbacks stop). A stale lease kept after <see cref="Dispose"/> never affects a later lease of the same object: its members
/// throw <see cref="ObjectDisposedException"/> and its <see cref="Dispose"/> does nothing.</para>
/// </remarks>
public sealed class PoolLease<T> : IDisposable, IAsyncDisposable
    where T : class
{
    private const string RawRegistration = "A lease cannot wait for the callback of a CancellationTokenRegistration ended from inside it, so the object could be reused while it runs: use lease.OnCancel(token, callback) instead of lease.Track(token.Register(callback)).";

    // In _running, above any count: the lease has ended.
    private const int Ended = 1 << 30;

    private static readonly object HandedBack = new();

    private readonly GuardedObjectPool<T> _pool;
    private readonly PooledObjectState<T> _state;

    // Ended | how many things of the lease run: the lease's own hold (its end's, once it ended), forwarded handlers,
    // token callbacks and add accessors that run, and the waits for timer callbacks and registrations an end joined.
    // One word, so that "not ended" and "count me" are one compare-and-swap, and the count reaches 0 after the end
    // exactly once: the one whose exit does hands the object back.
    private int _running = 1;

    // Under the state's lock: the entries of _state.Attachments this lease uses, its timers and its token.
    private int _count;
    private TimerScope? _timers;
    private CancellationTokenSource? _cts;

    // null; the waiter of a DisposeAsync; HandedBack once the object went back.
    private object? _returned;

    internal PoolLease(GuardedObjectPool<T> pool, PooledObjectState<T> state)
    {
        _pool = pool;
        _state = state;
    }

#if DEBUG
    /// <summary>Gets or sets a test hook that <see cref="TryEnter"/> calls between reading the lease's word and counting
    /// the caller (the window in which the lease may end). Debug builds only: its static load per forwarded call is part
    /// of the hot path.</summary>
    internal static Action<PoolLease<T>>? BeforeEnterHook { get; set; }
#endif

    /// <summary>Gets or sets a test hook that a <see cref="DisposeAsync"/> calls between its look at the hand-back and
    /// publishing its waiter (the window in which the hand-back may miss the waiter). Null outside tests.</summary>
    internal static Action<PoolLease<T>>? BeforeWaiterHook { get; set; }

    /// <summary>Set by an end, or by what it waits for, before its <see cref="Exit"/>: discard the object instead of
    /// returning it (read by the hand-back, after the last exit). Only ever set to <see langword="true"/>, never
    /// read-modify-written: an end and a failing attacher may set it at the same time, and neither may undo the other.</summary>
    internal bool Discard { get; set; }

    /// <summary>Gets how many entries the lease has taken (at least its handlers on any one event). Under the lock.</summary>
    internal int AttachmentCount => _count;

    private bool HasEnded => (Volatile.Read(ref _running) & Ended) != 0;

    /// <summary>Gets the pooled object.</summary>
    /// <value>The object, for the duration of the lease.</value>
    /// <exception cref="ObjectDisposedException">The lease has ended.</exception>
    public T Value
    {
        get
        {
            ThrowIfEnded();
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
                if (HasEnded)
                {
                    return 0;
                }

                var tracked = 0;
                for (var i = 0; i < _count; i++)
                {
                    tracked += _state.Attachments[i].Pending ? 0 : 1;
                }

                return tracked;
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
                ThrowIfEnded();
                return (_cts ??= new CancellationTokenSource()).Token;
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
                ThrowIfEnded();
                return _timers ??= _pool.CreateLeaseTimers();
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
        var forwarder = new LeaseForwarder<T>(this, handler);
        Attach(add, remove, forwarder, forwarder.As<THandler>(), eventName);
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
        var forwarder = new LeaseForwarder<T>(this, handler);
        Attach(add, remove, forwarder, forwarder.AsEventHandler<TArgs>(), eventName);
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
        var forwarder = new LeaseForwarder<T>(this, handler);
        Attach(add, remove, forwarder, forwarder.AsAction<TArg>(), eventName);
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
        var forwarder = new LeaseForwarder<T>(this, handler);
        Attach(add, remove, forwarder, forwarder.AsAction<TArg1, TArg2>(), eventName);
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
            ThrowIfEnded();
            if (_cts is { } own && token == own.Token)
            {
                throw new ArgumentException("The lease's own Token is cancelled only after the lease ended, when no callback of the lease starts any more; register on it directly.", nameof(token));
            }
        }

        if (token.CanBeCanceled)
        {
            // Registered outside the lock: a token cancelled already runs the callback here, and a concurrent end must
            // not wait for it. The callback enters as a callback of the lease, as a forwarded handler does.
            var registration = token.UnsafeRegister(static run => Unsafe.As<Action>(run!)(), new LeaseForwarder<T>(this, callback).As<Action>());
            lock (_state.Lock)
            {
                if (HasEnded)
                {
                    // Ended meanwhile (perhaps by the callback itself): the callback can no longer start.
                    registration.Unregister();
                    return this;
                }

                Append(null, registration, null, null);
            }
        }

        return this;
    }

    /// <summary>Tracks a registration (a <see cref="Subscription"/>, a <see cref="TimerScope"/>…) to dispose when the lease ends.</summary>
    /// <remarks>A registration that is also <see cref="IAsyncDisposable"/> is disposed with
    /// <see cref="IAsyncDisposable.DisposeAsync"/> instead of <see cref="IDisposable.Dispose"/>, and the object goes back
    /// to the pool only once that has completed: for a <see cref="Subscription"/>, <see cref="TimerScope"/>,
    /// <see cref="ScopedTimer"/> or <see cref="ScopedLoop"/> (also one in a tracked <see cref="SubscriptionBag"/>), once a
    /// callback of it running on another thread, or the one the end runs in, has returned (the disposing thread does not
    /// wait). A failure that completes later is logged
    /// (event id 1302) and the object is discarded. Disposed exactly once, unless it is one of those SafeRefs
    /// registrations or a <see cref="SubscriptionBag"/>, whose second, concurrent disposal is safe: a concurrent second
    /// end of the lease disposes it again (see <see cref="Dispose"/>). A <see cref="CancellationTokenRegistration"/> is refused: its
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
            ThrowIfEnded();
            Append(null, registration, null, null);
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
    /// <exception cref="LeaseLeakException">The probe found listeners attached behind the lease and the pool is set to <see cref="LeakAction.Throw"/>. The probe counts when the object goes back: if a callback of the lease still runs, after it returned, and then <see cref="DisposeAsync"/> faults with it instead (in one <see cref="AggregateException"/> with this end's own failures, if any).</exception>
    public void Dispose()
    {
        if (End(awaitReturn: false, out _) is { } failure)
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
    /// handler of a tracked <c>AsyncWeakEvent</c> token, each also one in a tracked <see cref="SubscriptionBag"/> (also after
    /// an <see langword="await"/> in it), which it would
    /// wait for forever. Inside a forwarded <c>On</c> handler, an <c>OnCancel</c> callback or the (synchronous)
    /// callback of another tracked subscription it completes once that callback has returned: await it there, never
    /// block on it. Called by the disposal of a registration the lease tracks (a tracked <see cref="SubscriptionBag"/>
    /// that holds the lease), or by work that disposal started, until the disposal has completed, it completes without
    /// waiting: the end that disposes that registration hands the object back once that disposal has completed.</returns>
    public ValueTask DisposeAsync()
    {
        var failure = End(awaitReturn: true, out var returned);
        return failure is null ? returned : ThrowAfterAsync(returned, failure);
    }

    /// <summary>Counts one callback of the lease as running; <see langword="false"/> (not counted) once the lease has
    /// ended. On <see langword="true"/>, the caller calls <see cref="Exit"/> when the callback returned.</summary>
    internal bool TryEnter()
    {
        var running = Volatile.Read(ref _running);
        while ((running & Ended) == 0)
        {
#if DEBUG
            BeforeEnterHook?.Invoke(this);
#endif
            var seen = Interlocked.CompareExchange(ref _running, running + 1, running);
            if (seen == running)
            {
                return true;
            }

            running = seen;
        }

        return false;
    }

    /// <summary>A callback, accessor or wait of the lease is done; the last one out of an ended lease hands the object
    /// back, on this thread (a failure there is logged, never thrown into the callback's caller).</summary>
    internal void Exit()
    {
        if (Interlocked.Decrement(ref _running) == Ended)
        {
            HandBack(null, report: true);
        }
    }

    private void ThrowIfEnded()
    {
        if (HasEnded)
        {
            throw new ObjectDisposedException(nameof(PoolLease<T>), "The lease has ended; its object may already serve another lease.");
        }
    }

    // Under the lock, the lease not ended: tracks one more entry and returns its index.
    private int Append(object? remove, object item, string? key, LeaseForwarder<T>? forwarder)
    {
        if (_count == _state.Attachments.Length)
        {
            Array.Resize(ref _state.Attachments, Math.Max(4, _count * 2));
        }

        // A handler (with its event key) is pending until its add accessor returned.
        _state.Attachments[_count] = new() { Remove = remove, Handler = item, EventKey = key, Forwarder = forwarder, Pending = key is not null };
        return _count++;
    }

    /// <summary>Adds <paramref name="attached"/> (what <paramref name="forwarder"/> forwards through, or the handler) to
    /// the event and tracks it: its room and its count for the limit are taken before the add accessor runs.</summary>
    private void Attach<THandler>(Action<T, THandler> add, Action<T, THandler> remove, LeaseForwarder<T> forwarder, THandler attached, string? key)
        where THandler : Delegate
    {
        ArgumentNullException.ThrowIfNull(add); // the parameters of On
        ArgumentNullException.ThrowIfNull(remove);
        key ??= "(unnamed)";
        var index = -1;
        int exceeded;
        lock (_state.Lock)
        {
            ThrowIfEnded();
            exceeded = _pool.JudgeLimit(this, key);
            if (exceeded == 0 || !_pool.RefusesAboveLimit)
            {
                index = Append(remove, attached, key, forwarder);

                // The accessors are user code and run outside the lock (an end inside a handler raised under the
                // source's own lock must not wait for an add that waits for that lock), counted as running, so that the
                // object does not go back while they run; an end meanwhile leaves the pending entry to this attacher.
                Interlocked.Increment(ref _running);
            }
        }

        if (index < 0)
        {
            // Refused: nothing was taken. Its metric, as a warning's, is recorded outside the lock.
            throw _pool.Refuse(_state.Value, key, exceeded);
        }

        try
        {
            try
            {
                add(_state.Value, attached);
            }
            catch
            {
                // The accessor may have attached before it threw: nothing untracked may stay on the pooled object. The
                // accessor's failure is the one the caller gets; the remove's is logged, and the object, which may
                // still hold the handler, is discarded when the lease ends.
                Untrack(index);
                forwarder.Release();
                List<Exception>? logged = null;
                if (!Detach(remove, attached, ref logged))
                {
                    Discard = true;
                }

                throw;
            }

            bool tracked;
            lock (_state.Lock)
            {
                tracked = !HasEnded;
                _state.Attachments[index].Pending = !tracked;

                // Warned once per (object, event), for a listener that is attached: an add that failed used up nothing.
                if (!tracked || (exceeded > 0 && !_state.TryMarkWarned(EventNames.Normalize(key))))
                {
                    exceeded = 0;
                }
            }

            if (!tracked)
            {
                // The lease ended while the add accessor ran (perhaps inside it): take the handler off again. If that
                // fails, the object, which may still hold the handler, is discarded (before the exit below).
                forwarder.Release();
                List<Exception>? failure = null;
                if (Detach(remove, attached, ref failure))
                {
                    throw new ObjectDisposedException(nameof(PoolLease<T>), "The lease ended while its add accessor ran; the handler was removed again.");
                }

                Discard = true;
                throw new ObjectDisposedException("The lease ended while its add accessor ran, and removing the handler again failed; the object is discarded.", failure![0]);
            }
        }
        finally
        {
            Exit();
        }

        if (exceeded > 0)
        {
            _pool.WarnExceeded(_state.Value, EventNames.Normalize(key), exceeded);
        }
    }

    // A failed add gives its entry up (its count for the limit with it); after the end, entries stay as they are.
    private void Untrack(int index)
    {
        lock (_state.Lock)
        {
            if (!HasEnded)
            {
                _state.Attachments[index] = new() { Pending = true };
            }
        }
    }

    // Under the lock: the lease's handlers on key, pending ones included.
    internal int CountFor(string key)
    {
        var count = 0;
        for (var i = 0; i < _count; i++)
        {
            count += string.Equals(_state.Attachments[i].EventKey, key, StringComparison.Ordinal) ? 1 : 0;
        }

        return count;
    }

    /// <summary>
    /// Ends the lease: the first end closes it (no callback of it starts any more), detaches what it tracked, stops its
    /// timers and cancels its token; a later end while something of the lease still runs ends the timers and the SafeRefs
    /// registrations itself (their second disposal is safe); then each hands the object back (see
    /// <see cref="HandBack"/>) if nothing of the lease runs any more, else the last callback out does. Never waits for
    /// them.
    /// </summary>
    /// <param name="awaitReturn">Whether the caller waits for the object to go back (<c>DisposeAsync</c>).</param>
    /// <param name="returned">Completes when the object went back to the inner pool (or was discarded).</param>
    /// <returns>The failure to throw to the caller (after everything was undone), or <see langword="null"/>.</returns>
    internal Exception? End(bool awaitReturn, out ValueTask returned)
    {
        returned = default;
        bool first;
        lock (_state.Lock)
        {
            // The first end turns the lease's own hold into its own: the object does not go back while it runs.
            first = (Interlocked.Or(ref _running, Ended) & Ended) == 0;
            if (!first && !TryJoin())
            {
                // Nothing of the lease runs any more: the object went back, or is going back.
                returned = awaitReturn ? WhenHandedBack() : default;
                return null;
            }
        }

        // User code from here on (remove accessors, registrations, token callbacks, the probe, event handlers): nothing
        // of it runs under the lock, and no failure stops the rest. The entries do not change once the lease ended.
        List<Exception>? errors = null;
        var detached = 0;
        var attachments = _state.Attachments;
        for (var i = _count - 1; i >= 0; i--)
        {
            ref var attachment = ref attachments[i];
            if (attachment.Pending)
            {
                continue;
            }

            if (attachment.Remove is null)
            {
                // Every end disposes a SafeRefs registration whose callbacks the end waits for (a subscription, a bag,
                // a timer scope, timer or loop): its second, concurrent disposal is safe and returns only once no
                // callback of it (for a bag, of its such items) can start. Any other registration is disposed once, by
                // the end that takes it first (its own rules may not allow a second or concurrent Dispose). A shared
                // one is counted by the first end, another by the end that took it.
                var item = attachment.Handler!;
                var shared = item is IIdleAwaitable;
                if ((shared || Interlocked.Exchange(ref attachment.Claimed, 1) == 0) && Detach(null, item, ref errors) && (first || !shared))
                {
                    detached++;
                }
            }
            else if (first)
            {
                // The forwarder lets go of the handler (the lease has ended), so that the handler and what it captured
                // are collectable while a raise still holds the forwarder.
                attachment.Forwarder?.Release();
                detached += Detach(attachment.Remove, attachment.Handler!, ref errors) ? 1 : 0;
            }
        }

        _pool.CountDetached(detached);
        if (_timers is { } timers)
        {
            // No new callback starts after this; the ones running are joined.
            Detach(null, timers, ref errors);
        }

        if (first)
        {
            CancelToken(ref errors);
        }

        if (errors is not null)
        {
            Discard = true;
        }

        // The object goes back once this callback (or async body) returns: a wait for that inside it would never end. A
        // synchronous handler returns before an await in it resumes, so it simply waits. Asked before the exit, while
        // the entries are still this lease's.
        var selfWait = awaitReturn && WaitsForCaller();

        // The probe's finding and a failing return reach the caller with the other failures (a DisposeAsync as a
        // faulted task).
        if (Interlocked.Decrement(ref _running) == Ended)
        {
            return HandBack(errors, report: false);
        }

        if (awaitReturn && !EnclosingCallbacks.IsInside(this))
        {
            // (Inside the disposal of a registration the lease tracks, it completes at once: see DisposeInOwnFrame.)
            returned = selfWait
                ? ValueTask.FromException(new InvalidOperationException("PoolLease.DisposeAsync was awaited inside a timer callback or loop body of the lease, or a callback of a timer item or subscription it tracks, which it would wait for forever. The lease has ended; call Dispose there instead."))
                : WhenHandedBack();
        }

        return GuardedObjectPool<T>.EndFailure(errors, null, null);
    }

    // Counts a later end as running while something of the ended lease still runs (else its object went back).
    private bool TryJoin()
    {
        var running = Volatile.Read(ref _running);
        while (running != Ended)
        {
            var seen = Interlocked.CompareExchange(ref _running, running + 1, running);
            if (seen == running)
            {
                return true;
            }

            running = seen;
        }

        return false;
    }

    private void CancelToken(ref List<Exception>? errors)
    {
        if (_cts is not { } cts)
        {
            return;
        }

        try
        {
            cts.Cancel();
        }
#pragma warning disable CA1031 // token callbacks are user code: no failure stops the end
        catch (Exception ex)
#pragma warning restore CA1031
        {
            GuardedObjectPool<T>.AddFailure(ref errors, ex);
        }
        finally
        {
            cts.Dispose();
        }
    }

    /// <summary>
    /// Removes a handler (<paramref name="remove"/> set) or disposes a registration, the lease's timer scope or a tracked
    /// one; a failure is logged and added to <paramref name="errors"/>. A registration that is also
    /// <see cref="IAsyncDisposable"/> is disposed with <see cref="IAsyncDisposable.DisposeAsync"/> only; what it, or a
    /// timer item's idle wait, still waits for is joined to the lease (the end of a callback of it that still runs).
    /// </summary>
    private bool Detach(object? remove, object item, ref List<Exception>? errors)
    {
        try
        {
            if (remove is not null)
            {
                // Remove is an Action<T, THandler> with THandler a delegate type and item a THandler: invoking it
                // through Action<T, Delegate> passes the same two references to the same method.
                Unsafe.As<Action<T, Delegate>>(remove)(_state.Value, Unsafe.As<Delegate>(item));
            }
            else if (item is IIdleAwaitable awaitable and not SubscriptionBag)
            {
                // A SafeRefs registration (a subscription, a timer scope, timer or loop): its wait, unlike its
                // DisposeAsync, does not fault when the end runs inside one of its own callbacks (see WaitsForCaller),
                // also in an item of a tracked bag; a disposal failure faults it after the wait.
                JoinUntilDone(awaitable.DisposeThenWhenIdleAsync());
            }
            else if (item is IAsyncDisposable registration)
            {
                // A bag (its wait, as above), or another registration with DisposeAsync alone: Dispose may block until a
                // callback running elsewhere returns; the object waits for it instead. Either may hold this lease.
                JoinUntilDone(DisposeInOwnFrame(registration));
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
            GuardedObjectPool<T>.AddFailure(ref errors, ex);
            _pool.ReportDetachFailed(ex);
            return false;
        }
    }

    /// <summary>Disposes a tracked registration that may hold this lease itself (a bag, or a container of the caller's)
    /// inside a frame of this lease, until the disposal completes: a <see cref="DisposeAsync"/> of the lease made by that
    /// disposal, at once or after an <see langword="await"/>, completes without waiting for the hand-back, which waits
    /// for this very disposal.</summary>
    private ValueTask DisposeInOwnFrame(IAsyncDisposable registration)
    {
        var frame = EnclosingCallbacks.Enter(this);
        var disposal = default(ValueTask);
        bool done;
        try
        {
            disposal = registration is IIdleAwaitable bag ? bag.DisposeThenWhenIdleAsync() : registration.DisposeAsync();
        }
        finally
        {
            // Looked at once: a disposal completing on another thread between two looks would leave the frame open.
            EnclosingCallbacks.Leave(frame);
            done = disposal.IsCompleted;
            if (done)
            {
                frame.End();
            }
        }

        // Still running: the frame flows into its continuations and ends when it completes.
        return done ? disposal : new ValueTask(frame.EndsWith(disposal));
    }

    /// <summary>Joins what <paramref name="running"/> waits for to the lease (only by an end, which counts itself), if
    /// it is still running; a failure it completed with already is thrown here (the caller's detach failure).</summary>
    private void JoinUntilDone(ValueTask running)
    {
        if (running.IsCompleted)
        {
            running.GetAwaiter().GetResult();
            return;
        }

        Interlocked.Increment(ref _running);
        _ = ExitWhenDoneAsync(running);
    }

    private async Task ExitWhenDoneAsync(ValueTask running)
    {
        try
        {
            await running.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // nobody waits to be told: logged, and the object is not reused
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Discard = true;
            _pool.ReportDetachFailed(ex);
        }

        Exit();
    }

    /// <summary>Gets whether the caller runs inside a timer callback, loop body or asynchronous handler that the
    /// hand-back waits for: one of the lease's timers, or of a tracked timer scope, timer, loop, subscription or
    /// subscription bag's item, also one another end has not reached yet. Called by an end while it counts as
    /// running.</summary>
    private bool WaitsForCaller()
    {
        if (_timers is IIdleAwaitable { IsCallingFromOwnCallback: true })
        {
            return true;
        }

        for (var i = 0; i < _count; i++)
        {
            var entry = _state.Attachments[i];
            if (!entry.Pending && entry.Remove is null && entry.Handler is IIdleAwaitable { IsCallingFromOwnCallback: true })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Hands the object back, by the one whose exit left nothing of the ended lease running: checks the probe, returns
    /// the object (or discards it) and completes a <see cref="DisposeAsync"/> that waits, with the probe's and the
    /// return's failures. An end that does it gets them with its own <paramref name="errors"/>; from a callback
    /// (<paramref name="report"/>), they are logged, never thrown into the callback's caller.
    /// </summary>
    private Exception? HandBack(List<Exception>? errors, bool report)
    {
        // Nothing of the lease runs, so nothing reads its entries: cleared, what they hold is collectable while the
        // object stays pooled.
        Array.Clear(_state.Attachments, 0, _count);

        // Counted here, once nothing of the lease runs: also what a callback still running at the end attached.
        List<Exception>? probeFailure = null;
        var leak = _pool.CheckProbe(_state, Discard, ref probeFailure, out var discard);
        Volatile.Write(ref _state.Current, null);
        var returnFailure = _pool.GiveBack(_state.Value, Discard || discard);
        var failure = GuardedObjectPool<T>.EndFailure(probeFailure, leak, returnFailure);
        if (Interlocked.Exchange(ref _returned, HandedBack) is TaskCompletionSource waiter)
        {
            if (failure is null)
            {
                waiter.TrySetResult();
            }
            else
            {
                waiter.TrySetException(failure);
            }
        }

        if (report)
        {
            // The probe's finding itself was logged by the check.
            if (failure is not null and not LeaseLeakException)
            {
                _pool.ReportReturnFailed(failure);
            }

            return null;
        }

        if (probeFailure is not null)
        {
            (errors ??= []).AddRange(probeFailure);
        }

        return GuardedObjectPool<T>.EndFailure(errors, leak, returnFailure);
    }

    /// <summary>Completes once the object went back (at once if it did).</summary>
    private ValueTask WhenHandedBack()
    {
        var seen = Volatile.Read(ref _returned);
        if (seen is null)
        {
            BeforeWaiterHook?.Invoke(this);
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            seen = Interlocked.CompareExchange(ref _returned, waiter, null) ?? waiter;
        }

        return seen is TaskCompletionSource pending ? new ValueTask(pending.Task) : default;
    }

    private static async ValueTask ThrowAfterAsync(ValueTask returned, Exception failure)
    {
        try
        {
            await returned.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // what the hand-back failed with joins the end's own failures, as the end reports both
        catch (Exception late)
#pragma warning restore CA1031
        {
            throw GuardedObjectPool<T>.EndFailure(failure is AggregateException all ? [.. all.InnerExceptions] : [failure], null, late)!;
        }

        ExceptionDispatchInfo.Throw(failure);
    }
}
