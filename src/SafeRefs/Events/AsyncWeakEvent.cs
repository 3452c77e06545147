using System.Runtime.CompilerServices;
using SafeRefs.Internal;
using SafeRefs.Subscriptions;

namespace SafeRefs.Events;

/// <summary>
/// A weak event whose handlers are asynchronous: <see cref="RaiseAsync"/> awaits them one after another, in
/// subscription order. Handlers are bound to an owner, as with
/// <see cref="WeakEvent{TArgs}.Subscribe{TOwner}(TOwner, Action{TOwner, object?, TArgs})"/>.
/// </summary>
/// <typeparam name="TArgs">The event data type.</typeparam>
/// <remarks>
/// <para><b>Holds</b> each owner weakly and each handler, with everything it captures, exactly as long as its owner
/// (an ephemeron); handlers that capture nothing are held strongly (they are rooted anyway). Dead entries are
/// dropped as in <see cref="WeakEvent{TArgs}"/>.</para>
/// <para><b>Thread safety:</b> every member is thread-safe. A raise works on the snapshot taken when it started; a
/// handler whose <see cref="Subscription"/> was disposed does not start after <see cref="Subscription.Dispose"/>
/// returned, even within a raise already running; <see cref="Subscription.DisposeAsync"/> also waits until a running
/// handler's task has completed.</para>
/// <para><b>Dispose:</b> the event is not disposable; a second <see cref="Subscription.Dispose"/> does nothing.</para>
/// </remarks>
public sealed class AsyncWeakEvent<TArgs>
{
    private readonly WeakHandlerList _list;
    private readonly HandlerExceptionMode _exceptionMode;

    /// <summary>Initializes a new instance of the <see cref="AsyncWeakEvent{TArgs}"/> class.</summary>
    /// <param name="options">The options, copied now; <see langword="null"/> for the defaults.
    /// <see cref="WeakEventOptions.CapturingLambdaWithoutOwner"/> does not apply: every handler has an owner.</param>
    public AsyncWeakEvent(WeakEventOptions? options = null)
    {
        _exceptionMode = options?.ExceptionMode ?? HandlerExceptionMode.Propagate;
        _list = new WeakHandlerList(this, options?.Budget, options?.Name, Metrics.For(options?.MeterFactory).WeakEvents);
    }

    /// <summary>Gets the number of subscribed handlers whose owner is alive; exact after a raise or a full GC.</summary>
    /// <value>A snapshot count; O(n).</value>
    public int Count => _list.LiveCount;

    /// <summary>Gets the number of stored entries, live or not (tests of the dead-entry bound).</summary>
    internal int StoredCount => _list.StoredCount;

    /// <summary>
    /// Subscribes an asynchronous handler bound to <paramref name="owner"/>: the owner is held weakly; the handler and
    /// everything it captures live exactly as long as the owner.
    /// </summary>
    /// <typeparam name="TOwner">The owner type.</typeparam>
    /// <param name="owner">The object whose lifetime bounds the subscription; passed to the handler.</param>
    /// <param name="handler">The handler; receives the owner, the sender, the event data and the raise's token.</param>
    /// <returns>A token whose <see cref="Subscription.Dispose"/> detaches the handler in O(1).</returns>
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
        return new Subscription(WeakHandlerDetacher.Instance, _list, entry, null);
    }

    /// <summary>
    /// Invokes every live handler in subscription order, awaiting each before starting the next.
    /// </summary>
    /// <param name="sender">The sender passed to the handlers.</param>
    /// <param name="args">The event data.</param>
    /// <param name="cancellationToken">Passed to every handler; checked before each handler starts.</param>
    /// <returns>A task that completes when every handler has completed.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before a handler
    /// started; later handlers do not run.</exception>
    /// <exception cref="AggregateException">With <see cref="HandlerExceptionMode.ContinueAndAggregate"/>: one or more
    /// handlers failed; every handler ran.</exception>
    /// <remarks>With <see cref="HandlerExceptionMode.Propagate"/> the first failure propagates unwrapped and later
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

    private async ValueTask RaiseCoreAsync(HandlerSlot[] snapshot, object? sender, TArgs args, CancellationToken cancellationToken)
    {
        var dead = 0;
        List<Exception>? errors = null;
        foreach (var slot in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!slot.Entry.TryBeginInvoke(out var owner, out var handler))
            {
                dead++;
                continue;
            }

            if (_exceptionMode == HandlerExceptionMode.Propagate)
            {
                try
                {
                    await Invoke(owner!, handler, sender, args, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    slot.Entry.EndInvoke();
                }

                continue;
            }

            try
            {
                await Invoke(owner!, handler, sender, args, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
#pragma warning disable CA1031 // Collected and rethrown as one AggregateException below.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                (errors ??= []).Add(ex);
            }
            finally
            {
                slot.Entry.EndInvoke();
            }
        }

        if (dead != 0)
        {
            _list.OnDeadSeen(dead, snapshot.Length);
        }

        if (errors is not null)
        {
            throw new AggregateException(errors);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ValueTask Invoke(object owner, Delegate handler, object? sender, TArgs args, CancellationToken cancellationToken) =>
        // The handler is a Func<TOwner, …> and owner is a TOwner (reference type): same call shape.
        Unsafe.As<Func<object, object?, TArgs, CancellationToken, ValueTask>>(handler)(owner, sender, args, cancellationToken);
}
