using System.Runtime.CompilerServices;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Events.Internal;
using SafeRefs.Subscriptions;

namespace SafeRefs.Events;

/// <summary>
/// A weak event of any delegate type (<see cref="EventHandler"/>, <see cref="EventHandler{TEventArgs}"/>,
/// <see cref="System.ComponentModel.PropertyChangedEventHandler"/>,
/// <see cref="System.Collections.Specialized.NotifyCollectionChangedEventHandler"/>, or your own): it backs an
/// <c>event</c> whose handlers do not keep their subscribers alive. Raising allocates nothing and uses no reflection.
/// </summary>
/// <typeparam name="TDelegate">The event's delegate type.</typeparam>
/// <remarks>
/// <para>Two lifetimes, chosen by how a handler is registered:</para>
/// <list type="bullet">
/// <item><description><see cref="Add"/> (for <c>event</c> accessors): holds the handler's target weakly; the handler
/// fires while its target is alive. A capturing lambda is rejected by default (<see cref="ClosurePolicy"/>): nothing
/// but the delegate would reference its closure, so it would die at the next GC. Static methods and non-capturing
/// lambdas are held strongly (they are rooted anyway).</description></item>
/// <item><description><see cref="Subscribe"/>: holds the owner weakly and the handler, with everything it captures,
/// exactly as long as the owner. The returned <see cref="Subscription"/> detaches it deterministically.</description></item>
/// </list>
/// <para>Raise with <see cref="Raise{TInvoker}(TInvoker)"/> (a struct that calls each handler: no allocation, no
/// reflection), with <see cref="Raise{TState}(TState, Action{TDelegate, TState})"/>, or, for the BCL shapes, with the
/// <c>Raise(sender, args)</c> extensions of <see cref="WeakDelegateEventExtensions"/>.</para>
/// <para><b>Holds</b> strongly: the options' values and handlers that capture nothing. Weakly: <see cref="Add"/>
/// targets and <see cref="Subscribe"/> owners (and, through them, their handlers). Entries whose target or owner was
/// collected are dropped on the next add, on a raise that meets many of them, and after gen-2 collections.</para>
/// <para><b>Thread safety:</b> every member is thread-safe. A raise invokes the handlers of the snapshot taken when
/// it started, in subscription order: a handler added during a raise runs from the next raise on; a handler removed
/// with <see cref="Remove"/> during a raise may still run in that raise, as with a multicast delegate; a handler whose
/// <see cref="Subscription"/> was disposed never starts after <see cref="Subscription.Dispose"/> returned, even in a raise
/// already running on another thread (<c>Dispose</c> never waits for a running invocation;
/// <see cref="Subscription.DisposeAsync"/> does).</para>
/// <para><b>Dispose:</b> the event is not disposable; a second <see cref="Subscription.Dispose"/> does nothing.</para>
/// </remarks>
public sealed class WeakDelegateEvent<TDelegate>
    where TDelegate : Delegate
{
    private readonly WeakHandlerList _list;
    private readonly ClosurePolicy _closurePolicy;
    private readonly RaiseExceptionPolicy _exceptionPolicy;

    /// <summary>Initializes a new instance of the <see cref="WeakDelegateEvent{TDelegate}"/> class.</summary>
    /// <param name="options">The options, copied now; <see langword="null"/> for the defaults.</param>
    public WeakDelegateEvent(WeakEventOptions? options = null)
    {
        _closurePolicy = options?.CapturingLambdaWithoutOwner ?? ClosurePolicy.Throw;
        _exceptionPolicy = new RaiseExceptionPolicy(options);
        _list = new WeakHandlerList(this, options, Metrics.For(options?.MeterFactory).WeakEvents);
    }

    /// <summary>
    /// Gets the number of registered handlers whose target or owner is alive; exact after a raise or a full GC.
    /// </summary>
    /// <value>A snapshot count; O(n).</value>
    public int Count => _list.LiveCount;

    /// <summary>Gets the number of stored entries, live or not (tests of the dead-entry bound).</summary>
    internal int StoredCount => _list.StoredCount;

    /// <summary>Gets the handler list (tests of when entries' handles are freed).</summary>
    internal WeakHandlerList Handlers => _list;

    /// <summary>
    /// Adds a handler, holding its target weakly: the handler fires while its target is alive. For <c>event</c>
    /// accessors (<c>add =&gt; _changed.Add(value);</c>). A multicast delegate adds each of its handlers in order;
    /// <see langword="null"/> adds nothing, as <c>+=</c> on a field-like event.
    /// </summary>
    /// <param name="handler">The handler. Static methods and non-capturing lambdas are held strongly.</param>
    /// <exception cref="ArgumentException">A handler's target is a compiler-generated closure (a capturing lambda) or
    /// a boxed value type, which nothing else references, and the policy is <see cref="ClosurePolicy.Throw"/>: use
    /// <see cref="Subscribe"/> instead.</exception>
    /// <exception cref="ListenerLimitExceededException">The options' <see cref="WeakEventOptions.Budget"/> refuses
    /// the listeners (<see cref="ListenerBudgetAction.Throw"/>; a multicast delegate's handlers are judged together);
    /// nothing was added.</exception>
    public void Add(TDelegate? handler)
    {
        if (handler is null)
        {
            return;
        }

        _list.AddHandler(handler, _closurePolicy, nameof(handler));
    }

    /// <summary>
    /// Removes a handler added with <see cref="Add"/>, with <see cref="Delegate.Remove"/> semantics: the last
    /// occurrence (for a multicast delegate, the last contiguous run of its handlers); nothing if absent or
    /// <see langword="null"/>.
    /// </summary>
    /// <param name="handler">The handler to remove.</param>
    public void Remove(TDelegate? handler)
    {
        if (handler is null)
        {
            return;
        }

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
    /// <param name="owner">The object whose lifetime bounds the subscription.</param>
    /// <param name="handler">The handler; a single delegate (not multicast).</param>
    /// <returns>A token whose <see cref="Subscription.Dispose"/> detaches the handler.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="owner"/> or <paramref name="handler"/> is
    /// <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="handler"/> is a multicast delegate.</exception>
    /// <exception cref="ListenerLimitExceededException">The options' <see cref="WeakEventOptions.Budget"/> refuses
    /// another listener (<see cref="ListenerBudgetAction.Throw"/>); nothing was subscribed.</exception>
    public Subscription Subscribe(object owner, TDelegate handler)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(handler);
        if (!handler.HasSingleTarget)
        {
            throw new ArgumentException("Subscribe takes a single handler, not a multicast delegate.", nameof(handler));
        }

        var entry = WeakHandlerEntry.ForOwner(owner, handler);
        _list.Add(entry);
        return new WeakHandlerSubscription(_list, entry);
    }

    /// <summary>
    /// Invokes every live handler, in subscription order, on the calling thread, through
    /// <paramref name="invoker"/>: the raise is specialised for the invoker struct and allocates nothing.
    /// </summary>
    /// <typeparam name="TInvoker">A struct that holds the raise's arguments and calls a handler with them.</typeparam>
    /// <param name="invoker">The invoker.</param>
    /// <exception cref="AggregateException">With <see cref="HandlerExceptionMode.ContinueAndAggregate"/>: one or more
    /// handlers threw an exception that <see cref="WeakEventOptions.ExceptionHandler"/> did not mark handled; every
    /// handler ran.</exception>
    /// <remarks>An exception that the options' <see cref="WeakEventOptions.ExceptionHandler"/> marks handled is
    /// swallowed and the raise goes on. Otherwise, with <see cref="HandlerExceptionMode.Propagate"/>, the first
    /// handler's exception propagates unwrapped and later handlers do not run. A throwing handler never corrupts the
    /// event.</remarks>
    public void Raise<TInvoker>(TInvoker invoker)
        where TInvoker : struct, IWeakEventInvoker<TDelegate>
    {
        if (_list.Snapshot.Length == 0)
        {
            return;
        }

        RaiseAll(_list.Snapshot, ref invoker);
    }

    private void RaiseAll<TInvoker>(SnapshotItem[] snapshot, ref TInvoker invoker)
        where TInvoker : struct, IWeakEventInvoker<TDelegate>
    {
        if (!_exceptionPolicy.IsPlainPropagate)
        {
            var guarded = new EntryInvoker<TInvoker>(invoker);
            GuardedRaise.Run(_list, snapshot, _exceptionPolicy, ref guarded);
            return;
        }

        var dead = 0;
        RaiseSlot? slot = null;
        try
        {
            for (var i = 0; i < snapshot.Length; i++)
            {
                ref readonly var item = ref snapshot[i];
                if (item.Added is { } added && added.TryGetTarget(out var weakHandler))
                {
                    // Add mode with a weak target: one weak-reference read, then the original delegate.
                    slot?.Idle();
                    invoker.Invoke(Unsafe.As<TDelegate>(weakHandler));
                }
                else if (item.Entry.TryBeginInvoke(ref slot, out _, out var handler))
                {
                    invoker.Invoke(Unsafe.As<TDelegate>(handler));
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

    /// <summary>
    /// Invokes every live handler, in subscription order, on the calling thread, as
    /// <c>invoke(handler, state)</c>. Allocation-free with a <see langword="static"/> lambda and a value-type state.
    /// </summary>
    /// <typeparam name="TState">The raise's arguments, for example a value tuple.</typeparam>
    /// <param name="state">The raise's arguments.</param>
    /// <param name="invoke">Calls one handler with the state, e.g. <c>static (h, s) =&gt; h(s.Symbol, s.Price)</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="invoke"/> is <see langword="null"/>.</exception>
    /// <exception cref="AggregateException">With <see cref="HandlerExceptionMode.ContinueAndAggregate"/>: one or more
    /// handlers threw an exception that <see cref="WeakEventOptions.ExceptionHandler"/> did not mark handled; every
    /// handler ran.</exception>
    public void Raise<TState>(TState state, Action<TDelegate, TState> invoke)
    {
        ArgumentNullException.ThrowIfNull(invoke);
        Raise(new ActionInvoker<TState>(invoke, state));
    }

    private readonly struct ActionInvoker<TState>(Action<TDelegate, TState> invoke, TState state) : IWeakEventInvoker<TDelegate>
    {
        public void Invoke(TDelegate handler) => invoke(handler, state);
    }

    /// <summary>Adapts the caller's invoker to the guarded loop; a mutable field so a stateful invoker keeps its changes.</summary>
    private struct EntryInvoker<TInvoker>(TInvoker invoker) : IEntryInvoker
        where TInvoker : struct, IWeakEventInvoker<TDelegate>
    {
#pragma warning disable IDE0044 // Not readonly: a stateful invoker keeps its changes from one handler to the next.
        private TInvoker _invoker = invoker;
#pragma warning restore IDE0044

        public void Invoke(object? owner, Delegate handler) => _invoker.Invoke(Unsafe.As<TDelegate>(handler));
    }
}
