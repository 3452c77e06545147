using Microsoft.Extensions.Primitives;
using SafeRefs.Internal;
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
    /// <paramref name="callback"/> and <paramref name="state"/>. <see cref="Subscription.Dispose"/> never waits for a
    /// running callback; <see cref="Subscription.DisposeAsync"/> does. <see cref="Subscription.Empty"/> when the token
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

        var registration = token.UnsafeRegister(callback, state);
        var detacher = Metrics.SubscriptionInstruments.TryAttach() ? CancellationDetacher.Counted : CancellationDetacher.Uncounted;
        return new Subscription(detacher, registration, null, null);
    }

    /// <summary>
    /// Like <see cref="ChangeToken.OnChange(Func{IChangeToken?}, Action)"/>: runs <paramref name="consumer"/> each time the
    /// token from <paramref name="producer"/> changes, then registers on a fresh token.
    /// </summary>
    /// <param name="producer">Returns the current change token; <see langword="null"/> stops the chain.</param>
    /// <param name="consumer">Runs after each change.</param>
    /// <returns>
    /// A token that stops the chain when disposed, so the producer's tokens no longer root
    /// <paramref name="consumer"/>. <see cref="Subscription.Dispose"/> never waits for a running consumer;
    /// <see cref="Subscription.DisposeAsync"/> does.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="producer"/> or <paramref name="consumer"/> is <see langword="null"/>.</exception>
    public static Subscription OnChange(Func<IChangeToken?> producer, Action consumer)
    {
        ArgumentNullException.ThrowIfNull(producer);
        ArgumentNullException.ThrowIfNull(consumer);
        var link = new ChangeTokenLink(producer, consumer);
        link.Start();
        link.Counted = Metrics.SubscriptionInstruments.TryAttach();
        return new Subscription(link, null, null, null);
    }

    /// <summary>Subscribes <paramref name="observer"/> to <paramref name="source"/> and returns a token that unsubscribes it.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="source">The observable.</param>
    /// <param name="observer">The observer.</param>
    /// <returns>A token holding the observable's subscription strongly until disposed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="observer"/> is <see langword="null"/>.</exception>
    public static Subscription Observe<T>(IObservable<T> source, IObserver<T> observer)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(observer);
        var inner = source.Subscribe(observer);
        if (inner is null)
        {
            return Subscription.Empty;
        }

        var detacher = Metrics.SubscriptionInstruments.TryAttach() ? DisposableDetacher.Counted : DisposableDetacher.Uncounted;
        return new Subscription(detacher, inner, null, null);
    }
}
