using System.Runtime.CompilerServices;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Events.Internal;
using SafeRefs.Internal;
using SafeRefs.Subscriptions;

namespace SafeRefs.Events;

/// <summary>
/// A weak event whose handlers are asynchronous: <see cref="RaiseAsync"/> awaits them one after another, in
/// subscription order. It can back an <c>event</c> of type <c>Func&lt;object?, TArgs, CancellationToken, ValueTask&gt;</c>
/// (<see cref="Add"/>, <see cref="Remove"/>) and bind handlers to an owner (<see cref="Subscribe{TOwner}"/>).
/// </summary>
/// <typeparam name="TArgs">The event data type.</typeparam>
/// <remarks>
/// <para><b>Holds</b>, as <see cref="WeakEvent{TArgs}"/> does: <see cref="Add"/> targets weakly (a capturing lambda is
/// refused by default, <see cref="ClosurePolicy"/>); each <see cref="Subscribe{TOwner}"/> owner weakly and its handler,
/// with everything it captures, exactly as long as the owner (an ephemeron); handlers that capture nothing strongly
/// (they are rooted anyway). Dead entries are dropped as in <see cref="WeakEvent{TArgs}"/>.</para>
/// <para><b>Thread safety:</b> every member is thread-safe. A raise works on the snapshot taken when it started; a
/// handler removed with <see cref="Remove"/> before the raise reaches it (for instance while an earlier handler is
/// awaited) does not run in that raise, one removed at that very moment may still run once; a handler whose <see cref="Subscription"/> was disposed does not start after <see cref="Subscription.Dispose"/>
/// returned, even within a raise already running; <see cref="Subscription.DisposeAsync"/> also waits until a running
/// handler's task has completed.</para>
/// <para><b>Dispose:</b> the event is not disposable; a second <see cref="Subscription.Dispose"/> does nothing.</para>
/// </remarks>
public sealed class AsyncWeakEvent<TArgs>
{
    private readonly WeakHandlerList _list;
    private readonly ClosurePolicy _closurePolicy;
    private readonly RaiseExceptionPolicy _exceptionPolicy;

    /// <summary>Initializes a new instance of the <see cref="AsyncWeakEvent{TArgs}"/> class.</summary>
    /// <param name="options">The options, copied now; <see langword="null"/> for the defaults.</param>
    public AsyncWeakEvent(WeakEventOptions? options = null)
    {
        _closurePolicy = options?.CapturingLambdaWithoutOwner ?? ClosurePolicy.Throw;
        _exceptionPolicy = new RaiseExceptionPolicy(options);
        _list = new WeakHandlerList(this, options, Metrics.For(options?.MeterFactory).WeakEvents);
    }

    /// <summary>Gets the number of subscribed handlers whose owner is alive; exact after a raise or a full GC.</summary>
    /// <value>A snapshot count; O(n).</value>
    public int Count => _list.LiveCount;

    /// <summary>Gets the number of stored entries, live or not (tests of the dead-entry bound).</summary>
    internal int StoredCount => _list.StoredCount;

    /// <summary>Gets the handler list (tests of when entries' handles are freed).</summary>
    internal WeakHandlerList Handlers => _list;

    /// <summary>
    /// Adds an asynchronous handler, holding its target weakly: the handler runs while its target is alive. For
    /// <c>event</c> accessors (<c>add =&gt; _saved.Add(value);</c>). A multicast delegate adds each of its handlers in
    /// order; <see langword="null"/> adds nothing, as <c>+=</c> on a field-like event.
    /// </summary>
    /// <param name="handler">The handler; receives the sender, the event data and the raise's token. Static methods
    /// and non-capturing lambdas are held strongly.</param>
    /// <exception cref="ArgumentException">A handler's target is a compiler-generated closure (a capturing lambda) or
    /// a boxed value type, which nothing else references, and the policy is <see cref="ClosurePolicy.Throw"/>: use
    /// <see cref="Subscribe{TOwner}"/> instead. Nothing was added.</exception>
    /// <exception cref="ListenerLimitExceededException">The options' <see cref="WeakEventOptions.Budget"/> refuses
    /// the listeners (<see cref="ListenerBudgetAction.Throw"/>; a multicast delegate's handlers are judged together);
    /// nothing was added.</exception>
    public void Add(Func<object?, TArgs, CancellationToken, ValueTask>? handler)
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
    public void Remove(Func<object?, TArgs, CancellationToken, ValueTask>? handler)
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
    /// Subscribes an asynchronous handler bound to <paramref name="owner"/>: the owner is held weakly; the handler and
    /// everything it captures live exactly as long as the owner.
    /// </summary>
    /// <typeparam name="TOwner">The owner type.</typeparam>
    /// <param name="owner">The object whose lifetime bounds the subscription; passed to the handler.</param>
    /// <param name="handler">The handler; receives the owner, the sender, the event data and the raise's token.</param>
    /// <returns>A token whose <see cref="Subscription.Dispose"/> detaches the handler at once.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="owner"/> or <paramref name="handler"/> is
    /// <see langword="null"/>.</exception>
    /// <exception cref="ListenerLimitExceededException">The options' <see cref="WeakEventOptions.Budget"/> refuses
    /// another listener (<see cref="ListenerBudgetAction.Throw"/>); nothing was subscribed.</exception>
    public Subscription Subscribe<TOwner>(TOwner owner, Func<TOwner, object?, TArgs, CancellationToken, ValueTask> handler)
        where TOwner : class
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(handler);
        var entry = WeakHandlerEntry.ForOwner(owner, handler);
        _list.Add(entry);
        return new WeakHandlerSubscription(_list, entry);
    }

    /// <summary>
    /// Invokes every live handler in subscription order, awaiting each before starting the next.
    /// </summary>
    /// <param name="sender">The sender passed to the handlers.</param>
    /// <param name="args">The event data.</param>
    /// <param name="cancellationToken">Passed to every handler; checked before each handler starts.</param>
    /// <returns>A task that completes when every handler has completed.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before a handler
    /// started, or a handler threw it once the token was cancelled; later handlers do not run. No earlier handler of
    /// this raise had failed (otherwise see <see cref="AggregateException"/>).</exception>
    /// <exception cref="AggregateException">With <see cref="HandlerExceptionMode.ContinueAndAggregate"/>: one or more
    /// handlers failed with an exception that <see cref="WeakEventOptions.ExceptionHandler"/> did not mark handled;
    /// every handler ran. If the raise was cancelled after such a failure, the failures are not dropped: the aggregate
    /// holds them, in order, and the <see cref="OperationCanceledException"/> last; later handlers did not run.</exception>
    /// <remarks>A failure that the options' <see cref="WeakEventOptions.ExceptionHandler"/> marks handled is swallowed
    /// and the raise goes on (the raise's own cancellation is not a handler failure and is not offered to it).
    /// Otherwise, with <see cref="HandlerExceptionMode.Propagate"/>, the first failure propagates unwrapped and later
    /// handlers do not run.</remarks>
    public ValueTask RaiseAsync(object? sender, TArgs args, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        var snapshot = _list.Snapshot;
        return snapshot.Length == 0 ? default : RaiseCoreAsync(snapshot, sender, args, cancellationToken);
    }

    private async ValueTask RaiseCoreAsync(SnapshotItem[] snapshot, object? sender, TArgs args, CancellationToken cancellationToken)
    {
        var dead = 0;
        List<Exception>? errors = null;
        RaiseSlot? slot = null; // a Subscribe handler counts as running until its task completes
        try
        {
            foreach (var item in snapshot)
            {
                cancellationToken.ThrowIfCancellationRequested();
                // A handler removed or disposed while an earlier handler was awaited is skipped, whatever its kind.
                if (item.Entry.IsClosed || !item.Entry.TryBeginInvoke(ref slot, out var owner, out var handler))
                {
                    dead++;
                    continue;
                }

                // A Subscribe handler's token waits for the whole task: its flow is marked, so that a DisposeAsync
                // awaited inside it faults instead of waiting for itself.
                var frame = item.Entry is OwnerHandlerEntry bound ? EnclosingCallbacks.Enter(bound) : null;
                try
                {
                    await EndingWith(frame, Invoke(owner, handler, sender, args, cancellationToken)).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
#pragma warning disable CA1031 // Handled, collected for the aggregate, or rethrown: the policy decides.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    if (!_exceptionPolicy.TryAbsorb(ex, ref errors))
                    {
                        throw;
                    }
                }
                finally
                {
                    if (frame is not null)
                    {
                        EnclosingCallbacks.Exit(frame); // the handler's task has completed: its call ended
                    }
                }
            }
        }
        catch (OperationCanceledException cancelled) when (errors is not null && cancellationToken.IsCancellationRequested)
        {
            // Review L10: the failures collected before the cancellation reach the caller, who ran those handlers. As
            // with Task.WhenAll, failures win over cancellation: one aggregate, the cancellation last.
            errors.Add(cancelled);
            throw new AggregateException(errors);
        }
        finally
        {
            slot?.Release();
        }

        GuardedRaise.Finish(_list, dead, snapshot.Length, errors);
    }

    /// <summary>
    /// Ties the end of a <c>Subscribe</c> handler's call to its task when it runs on: work the handler left running
    /// that disposes the token before the raise's continuation exits the frame waits instead of faulting.
    /// </summary>
    private static ValueTask EndingWith(EnclosingCallbacks.Frame? frame, ValueTask call) =>
        frame is null || call.IsCompleted ? call : new ValueTask(frame.EndsWith(call));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ValueTask Invoke(object? owner, Delegate handler, object? sender, TArgs args, CancellationToken cancellationToken) =>
        owner is null
            ? Unsafe.As<Func<object?, TArgs, CancellationToken, ValueTask>>(handler)(sender, args, cancellationToken)
            // The handler is a Func<TOwner, …> and owner is a TOwner (reference type): same call shape.
            : Unsafe.As<Func<object, object?, TArgs, CancellationToken, ValueTask>>(handler)(owner, sender, args, cancellationToken);
}
