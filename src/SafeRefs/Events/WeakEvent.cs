using System.Runtime.CompilerServices;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Events.Internal;
using SafeRefs.Subscriptions;

namespace SafeRefs.Events;

/// <summary>
/// A weak event source: handlers do not keep their subscribers alive, raising allocates nothing and needs no
/// reflection.
/// </summary>
/// <typeparam name="TArgs">The event data type.</typeparam>
/// <remarks>
/// <para>Three lifetimes, chosen by how a handler is registered:</para>
/// <list type="bullet">
/// <item><description><see cref="Add"/> (for <c>event</c> accessors): holds the handler's target weakly. The handler
/// fires while its target is alive, then disappears. A capturing lambda is rejected by default
/// (<see cref="ClosurePolicy"/>): nothing but the delegate would reference its closure, so it would die at the next
/// GC.</description></item>
/// <item><description><see cref="Subscribe{TOwner}(TOwner, Action{TOwner, object?, TArgs})"/>: holds the owner
/// weakly and the handler, with everything it captures, exactly as long as the owner (an ephemeron). The handler gets
/// the owner as its first argument. The returned <see cref="Subscription"/> detaches it deterministically.</description></item>
/// <item><description>Static methods and non-capturing lambdas are rooted anyway: they are held strongly and fire
/// until removed.</description></item>
/// </list>
/// <para><b>Holds</b> strongly: the options' values and handlers that capture nothing. Weakly: <see cref="Add"/>
/// targets and <c>Subscribe</c> owners (and, through them, owner-bound handlers). Dead entries are dropped on the
/// next add, on a raise that meets more than max(4, 25 %) of them, and after each gen-2 GC even if the event is
/// never raised.</para>
/// <para><b>Thread safety:</b> every member is thread-safe; <see cref="Raise"/> takes no lock unless it meets many dead
/// entries (then it compacts them). A raise invokes the handlers of the snapshot taken when it started, in
/// subscription order: a handler added during a raise runs from the next raise on; a handler removed with <see cref="Remove"/> during a raise may still run in that raise,
/// as with a multicast delegate; a handler whose <see cref="Subscription"/> was disposed never starts after
/// <see cref="Subscription.Dispose"/> returned, even in a raise already running on another thread (<c>Dispose</c> never
/// waits for a running invocation; <see cref="Subscription.DisposeAsync"/> does).</para>
/// <para><b>Dispose:</b> the event is not disposable; a second <see cref="Subscription.Dispose"/> does nothing.</para>
/// </remarks>
public sealed class WeakEvent<TArgs> : IHandlerSnapshotSink
{
    private readonly WeakHandlerList _list;
    private readonly ClosurePolicy _closurePolicy;
    private readonly RaiseExceptionPolicy _exceptionPolicy;
    private SnapshotItem[] _snapshot = [];

    /// <summary>Initializes a new instance of the <see cref="WeakEvent{TArgs}"/> class.</summary>
    /// <param name="options">The options, copied now; <see langword="null"/> for the defaults.</param>
    public WeakEvent(WeakEventOptions? options = null)
    {
        _closurePolicy = options?.CapturingLambdaWithoutOwner ?? ClosurePolicy.Throw;
        _exceptionPolicy = new RaiseExceptionPolicy(options);
        _list = new WeakHandlerList(this, options, Metrics.For(options?.MeterFactory).WeakEvents, this);
    }

    /// <summary>
    /// Gets the number of registered handlers whose target or owner is alive; exact after a <see cref="Raise"/> or
    /// a full GC (a subscriber that just became unreachable counts until the GC collects it).
    /// </summary>
    /// <value>A snapshot count; O(n).</value>
    public int Count => _list.LiveCount;

    /// <summary>Gets the number of stored entries, live or not (tests of the dead-entry bound).</summary>
    internal int StoredCount => _list.StoredCount;

    /// <summary>Gets the handler list (tests of when entries' handles are freed).</summary>
    internal WeakHandlerList Handlers => _list;

    /// <summary>
    /// Adds a handler, holding its target weakly: the handler fires while its target is alive. For <c>event</c>
    /// accessors (<c>add =&gt; _changed.Add(value);</c>). A multicast delegate adds each of its handlers in order.
    /// </summary>
    /// <param name="handler">The handler. Static methods and non-capturing lambdas are held strongly.</param>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The handler's target is a compiler-generated closure (a capturing lambda)
    /// or a boxed value type, which nothing else references, and the policy is <see cref="ClosurePolicy.Throw"/>: use
    /// <see cref="Subscribe{TOwner}(TOwner, Action{TOwner, object?, TArgs})"/> instead.</exception>
    /// <exception cref="ListenerLimitExceededException">The options' <see cref="WeakEventOptions.Budget"/> refuses
    /// the listeners (<see cref="ListenerBudgetAction.Throw"/>; a multicast delegate's handlers are judged together);
    /// nothing was added.</exception>
    public void Add(EventHandler<TArgs> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _list.AddHandler(handler, _closurePolicy, nameof(handler));
    }

    /// <summary>
    /// Removes a handler added with <see cref="Add"/>, with <see cref="Delegate.Remove"/> semantics: the last
    /// occurrence (for a multicast delegate, the last contiguous run of its handlers); nothing if absent.
    /// </summary>
    /// <param name="handler">The handler to remove.</param>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is <see langword="null"/>.</exception>
    public void Remove(EventHandler<TArgs> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (handler.HasSingleTarget)
        {
            _list.RemoveLast((Delegate)handler);
        }
        else
        {
            _list.RemoveLast(handler.GetInvocationList());
        }
    }

    /// <summary>
    /// Subscribes a handler bound to <paramref name="owner"/>: the owner is held weakly; the handler and everything it
    /// captures live exactly as long as the owner, so a lambda capturing the owner neither leaks it nor dies early.
    /// </summary>
    /// <typeparam name="TOwner">The owner type.</typeparam>
    /// <param name="owner">The object whose lifetime bounds the subscription; passed to the handler.</param>
    /// <param name="handler">The handler; receives the owner, the sender and the event data. Prefer a
    /// <see langword="static"/> lambda that uses its first argument.</param>
    /// <returns>A token whose <see cref="Subscription.Dispose"/> detaches the handler at once.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="owner"/> or <paramref name="handler"/> is
    /// <see langword="null"/>.</exception>
    /// <exception cref="ListenerLimitExceededException">The options' <see cref="WeakEventOptions.Budget"/> refuses
    /// another listener (<see cref="ListenerBudgetAction.Throw"/>); nothing was subscribed.</exception>
    public Subscription Subscribe<TOwner>(TOwner owner, Action<TOwner, object?, TArgs> handler)
        where TOwner : class
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(handler);
        var entry = WeakHandlerEntry.ForOwner(owner, handler);
        _list.Add(entry);
        return new WeakHandlerSubscription(_list, entry);
    }

    /// <summary>
    /// Invokes every live handler, in subscription order, on the calling thread. Allocation-free.
    /// </summary>
    /// <param name="sender">The sender passed to the handlers.</param>
    /// <param name="args">The event data.</param>
    /// <exception cref="AggregateException">With <see cref="HandlerExceptionMode.ContinueAndAggregate"/>: one or more
    /// handlers threw an exception that <see cref="WeakEventOptions.ExceptionHandler"/> did not mark handled; every
    /// handler ran.</exception>
    /// <remarks>An exception that the options' <see cref="WeakEventOptions.ExceptionHandler"/> marks handled is
    /// swallowed and the raise goes on. Otherwise, with <see cref="HandlerExceptionMode.Propagate"/>, the first
    /// handler's exception propagates unwrapped and later handlers do not run. A throwing handler never corrupts the
    /// source.</remarks>
    public void Raise(object? sender, TArgs args)
    {
        if (Volatile.Read(ref _snapshot).Length == 0)
        {
            return;
        }

        var snapshot = Volatile.Read(ref _snapshot);
        if (snapshot.Length == 1 && _exceptionPolicy.IsPlainPropagate)
        {
            // The commonest event has one handler: no loop; a live Add-mode weak target is one weak-reference read.
            if (snapshot[0].Added is { } single && single.TryGetTarget(out var singleHandler))
            {
                Unsafe.As<EventHandler<TArgs>>(singleHandler)(sender, args);
                return;
            }
        }

        RaiseAll(snapshot, sender, args);
    }

    private void RaiseAll(SnapshotItem[] snapshot, object? sender, TArgs args)
    {
        if (!_exceptionPolicy.IsPlainPropagate)
        {
            var invoker = new ArgsInvoker(sender, args);
            GuardedRaise.Run(_list, snapshot, _exceptionPolicy, ref invoker);
            return;
        }

        var dead = 0;
        RaiseSlot? slot = null;
        try
        {
            for (var i = 0; i < snapshot.Length; i++)
            {
                // Add mode with a weak target: one weak-reference read from the snapshot item, then the original delegate.
                ref readonly var item = ref snapshot[i];
                if (item.Added is { } added && added.TryGetTarget(out var handler))
                {
                    slot?.Idle();
                    Unsafe.As<EventHandler<TArgs>>(handler)(sender, args);
                }
                else if (item.Entry.TryBeginInvoke(ref slot, out var owner, out var entryHandler))
                {
                    Invoke(owner, entryHandler, sender, args);
                }
                else
                {
                    dead++;
                }
            }
        }
        finally
        {
            slot?.Release();
        }

        if (dead != 0)
        {
            _list.OnDeadSeen(dead, snapshot.Length);
        }
    }

    /// <inheritdoc/>
    void IHandlerSnapshotSink.Publish(SnapshotItem[] snapshot) => Volatile.Write(ref _snapshot, snapshot);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Invoke(object? owner, Delegate handler, object? sender, TArgs args)
    {
        if (owner is null)
        {
            Unsafe.As<EventHandler<TArgs>>(handler)(sender, args);
        }
        else
        {
            // The handler is an Action<TOwner, object?, TArgs> and owner is a TOwner (reference type): same call shape.
            Unsafe.As<Action<object, object?, TArgs>>(handler)(owner, sender, args);
        }
    }

    private readonly struct ArgsInvoker(object? sender, TArgs args) : IEntryInvoker
    {
        public void Invoke(object? owner, Delegate handler) => WeakEvent<TArgs>.Invoke(owner, handler, sender, args);
    }
}
