using Microsoft.Extensions.Primitives;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Subscriptions.Internal;

namespace SafeRefs.Subscriptions;

public static partial class Subscribe
{
    /// <summary>
    /// Registers <paramref name="callback"/> to run when <paramref name="token"/> is cancelled, without flowing the
    /// ExecutionContext (so AsyncLocals such as a request context are not rooted by the token).
    /// </summary>
    /// <param name="token">The token; it may be long-lived.</param>
    /// <param name="callback">Called once with <paramref name="state"/> on cancellation; prefer a static lambda.</param>
    /// <param name="state">Passed to <paramref name="callback"/>.</param>
    /// <returns>
    /// A token that unregisters the callback when disposed, so the token source no longer roots
    /// <paramref name="callback"/> and <paramref name="state"/>. After <see cref="Subscription.Dispose"/> returns, the
    /// callback does not start, even if another thread is cancelling the token; <see cref="Subscription.Dispose"/> never
    /// waits for a running callback; <see cref="Subscription.DisposeAsync"/> does. <see cref="Subscription.Empty"/> when the token
    /// can never be cancelled. If the token is already cancelled, the callback runs synchronously before this returns.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is <see langword="null"/>.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1068:CancellationToken parameters must come last", Justification = "The token is the subscribed source, not a way to cancel this call; the signature is fixed by the public API.")]
    public static Subscription OnCancel(CancellationToken token, Action<object?> callback, object? state)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (!token.CanBeCanceled)
        {
            return Subscription.Empty;
        }

        // If the token is already cancelled and the callback throws, nothing stays registered and nothing is counted.
        var subscription = CancellationSubscription.Register(callback, state, token);
        Metrics.SubscriptionInstruments.Attached();
        return subscription;
    }

    /// <summary>
    /// Runs <paramref name="consumer"/> each time the token from <paramref name="producer"/> changes, with
    /// <see cref="ChangeToken.OnChange(Func{IChangeToken?}, Action)"/>'s contract: when a token fires, the next token is
    /// taken from the producer before the consumer runs, and registered after it, so a change signalled while the
    /// consumer runs runs it again.
    /// </summary>
    /// <param name="producer">Returns the current change token; <see langword="null"/> stops the chain.</param>
    /// <param name="consumer">Runs after each change.</param>
    /// <returns>
    /// A token that stops the chain when disposed, so the producer's tokens no longer root
    /// <paramref name="consumer"/>. After <see cref="Subscription.Dispose"/> returns, no consumer run starts;
    /// <see cref="Subscription.Dispose"/> never waits for a running consumer, <see cref="Subscription.DisposeAsync"/>
    /// does.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="producer"/> or <paramref name="consumer"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">The producer returned 4,096 tokens in a row that had already changed (the chain stops).</exception>
    /// <remarks>
    /// As with the BCL, a token that has already changed runs the consumer at once (here, if the first token has, before
    /// this method returns), and exceptions from <paramref name="producer"/> and <paramref name="consumer"/> go to
    /// whoever signalled the token. If they throw while this method runs (the first token had already changed), the
    /// chain is stopped and the exception propagates to this method's caller. After a consumer exception the
    /// chain stays registered; after a producer exception it ends. Where the BCL recurses through tokens that have
    /// already changed, this loops, and stops with <see cref="InvalidOperationException"/> after 4,096 of them in a row
    /// instead of overflowing the stack.
    /// </remarks>
    public static Subscription OnChange(Func<IChangeToken?> producer, Action consumer)
    {
        ArgumentNullException.ThrowIfNull(producer);
        ArgumentNullException.ThrowIfNull(consumer);
        return ChangeTokenSubscription.Start(producer, consumer);
    }

    /// <summary>Subscribes <paramref name="observer"/> to <paramref name="source"/> and returns a token that unsubscribes it.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="source">The observable.</param>
    /// <param name="observer">The observer.</param>
    /// <returns>
    /// A token holding the observable's subscription and <paramref name="observer"/> strongly until disposed. The observable
    /// holds the token as its observer, which forwards to <paramref name="observer"/>: after
    /// <see cref="Subscription.Dispose"/> returns, no notification starts on <paramref name="observer"/>;
    /// <see cref="Subscription.Dispose"/> never waits for a running one, <see cref="Subscription.DisposeAsync"/> does.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="observer"/> is <see langword="null"/>.</exception>
    public static Subscription Observe<T>(IObservable<T> source, IObserver<T> observer)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(observer);
        var subscription = ObserverSubscription<T>.Subscribe(source, observer);
        Metrics.SubscriptionInstruments.Attached();
        return subscription;
    }
}
