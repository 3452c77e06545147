using SafeRefs.Internal;

namespace SafeRefs.Subscriptions;

public static partial class Subscribe
{
    /// <summary>
    /// Attaches a weak handler to an <see cref="EventHandler{TEventArgs}"/> event: the source never keeps
    /// <paramref name="owner"/> alive, the handler receives the owner, and when the owner is collected the forwarder is
    /// detached from the source without the event having to fire.
    /// </summary>
    /// <typeparam name="TSource">The type of the object that declares the event.</typeparam>
    /// <typeparam name="TOwner">The type of the object whose lifetime bounds the subscription.</typeparam>
    /// <typeparam name="TArgs">The event arguments type.</typeparam>
    /// <param name="source">The object whose event is subscribed.</param>
    /// <param name="add">Adds a handler to the event, e.g. <c>static (s, h) =&gt; s.Changed += h</c>.</param>
    /// <param name="remove">Removes a handler from the event, e.g. <c>static (s, h) =&gt; s.Changed -= h</c>.</param>
    /// <param name="owner">The listener; held weakly.</param>
    /// <param name="handler">
    /// Called with the owner, the sender and the arguments. It is kept alive exactly as long as
    /// <paramref name="owner"/> (it may capture the owner without keeping it alive); prefer a static lambda.
    /// </param>
    /// <returns>
    /// A token that detaches the forwarder when disposed. It holds the remove accessor strongly and the source and owner
    /// weakly; <see cref="Subscription.DisposeAsync"/> also waits for a running callback.
    /// </returns>
    /// <exception cref="ArgumentNullException">Any argument is <see langword="null"/>.</exception>
    /// <remarks>
    /// <para>The source holds a small forwarder (not the owner). Forwarders whose owner or source was collected are
    /// detached on the subscribing thread every so many subscribes, after gen-2 collections (on the thread pool),
    /// and when the event fires; no finalizer touches them. A subscription allocates its token (which is also the
    /// forwarder) and the delegate the source holds, and no GC handle unless the handler captures variables (then one
    /// dependent handle owner → handler): the weak handles to the owner and the source belong to a registry slot that
    /// is reused as soon as the forwarder is detached (a raise still running it notices and drops what it read).</para>
    /// <para>After <see cref="Subscription.Dispose"/> returns, no new invocation of the handler starts. Do not await
    /// <see cref="Subscription.DisposeAsync"/> from inside the handler itself: it completes only when the handler returns.</para>
    /// </remarks>
    public static Subscription WeakEvent<TSource, TOwner, TArgs>(
        TSource source,
        Action<TSource, EventHandler<TArgs>> add,
        Action<TSource, EventHandler<TArgs>> remove,
        TOwner owner,
        Action<TOwner, object?, TArgs> handler)
        where TSource : class
        where TOwner : class
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(add);
        ArgumentNullException.ThrowIfNull(remove);
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(handler);

        var link = new EventHandlerLink<TSource, TArgs>(WeakEventLinkRegistry.Claim(owner, source), remove, owner, handler);
        try
        {
            add(source, link.Forward);
        }
        catch
        {
            link.Abandon();
            throw;
        }

        if (Metrics.SubscriptionInstruments.TryAttach())
        {
            link.Counted = true;
        }

        WeakEventLinkRegistry.Register(link, purgeAfterGen2: false);

        // Until it is registered, no raise may find the owner collected and detach the link (its slot would be handed
        // on while this registration is still to be written).
        GC.KeepAlive(owner);
        return link;
    }
}
