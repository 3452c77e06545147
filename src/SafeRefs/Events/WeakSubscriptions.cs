using System.Collections.Specialized;
using System.ComponentModel;
using System.Windows.Input;
using SafeRefs.Internal;
using SafeRefs.Subscriptions;

namespace SafeRefs.Events;

/// <summary>
/// Ready-made weak listeners for the common BCL events: the source keeps only a small forwarder alive, never the
/// owner.
/// </summary>
/// <remarks>
/// <para><b>Holds:</b> the source holds a forwarder strongly (through its own event); the forwarder holds the source
/// and the owner weakly, and the handler with everything it captures exactly as long as the owner (an ephemeron).
/// A forwarder whose owner died detaches itself the next time the source raises the event, or, if the source never
/// raises it, during a later weak subscription on the caller's thread (a <see cref="WeakSubscriptions"/> call after a
/// gen-2 collection, or any <see cref="WeakSubscriptions"/> or <c>Subscribe.WeakEvent</c> call once the subscriptions
/// since the last purge reach half the registered ones, at least 256): these forwarders never detach from a finalizer
/// or from the thread-pool purge that <c>Subscribe.WeakEvent</c> runs after gen-2 collections. A forwarder whose
/// source was collected is dropped by the same purges. They share <c>Subscribe.WeakEvent</c>'s mechanism: no GC handle
/// is allocated per subscription (registry slots and their weak handles are reused).</para>
/// <para><b>Thread safety:</b> all members are thread-safe; detaching calls the source's <c>remove</c> accessor on the
/// thread that disposes the token (or raises the event, or subscribes). A second <see cref="Subscription.Dispose"/>
/// does nothing.</para>
/// </remarks>
public static class WeakSubscriptions
{
    /// <summary>Listens to <see cref="INotifyPropertyChanged.PropertyChanged"/> for as long as <paramref name="owner"/> lives.</summary>
    /// <typeparam name="TOwner">The owner type.</typeparam>
    /// <param name="source">The object raising the event.</param>
    /// <param name="owner">The object whose lifetime bounds the subscription; passed to the handler.</param>
    /// <param name="handler">The handler; receives the owner, the sender and the event data.</param>
    /// <returns>A token whose <see cref="Subscription.Dispose"/> detaches the forwarder from the source.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static Subscription OnPropertyChanged<TOwner>(INotifyPropertyChanged source, TOwner owner, Action<TOwner, object?, PropertyChangedEventArgs> handler)
        where TOwner : class
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(handler);
        return Start(new PropertyChangedLink(WeakEventLinkRegistry.Claim(owner, source), owner, handler), source, owner);
    }

    /// <summary>Listens to <see cref="INotifyCollectionChanged.CollectionChanged"/> for as long as <paramref name="owner"/> lives.</summary>
    /// <typeparam name="TOwner">The owner type.</typeparam>
    /// <param name="source">The object raising the event.</param>
    /// <param name="owner">The object whose lifetime bounds the subscription; passed to the handler.</param>
    /// <param name="handler">The handler; receives the owner, the sender and the event data.</param>
    /// <returns>A token whose <see cref="Subscription.Dispose"/> detaches the forwarder from the source.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static Subscription OnCollectionChanged<TOwner>(INotifyCollectionChanged source, TOwner owner, Action<TOwner, object?, NotifyCollectionChangedEventArgs> handler)
        where TOwner : class
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(handler);
        return Start(new CollectionChangedLink(WeakEventLinkRegistry.Claim(owner, source), owner, handler), source, owner);
    }

    /// <summary>Listens to <see cref="ICommand.CanExecuteChanged"/> for as long as <paramref name="owner"/> lives.</summary>
    /// <typeparam name="TOwner">The owner type.</typeparam>
    /// <param name="source">The command raising the event.</param>
    /// <param name="owner">The object whose lifetime bounds the subscription; passed to the handler.</param>
    /// <param name="handler">The handler; receives the owner, the sender and the event data.</param>
    /// <returns>A token whose <see cref="Subscription.Dispose"/> detaches the forwarder from the source.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static Subscription OnCanExecuteChanged<TOwner>(ICommand source, TOwner owner, Action<TOwner, object?, EventArgs> handler)
        where TOwner : class
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(handler);
        return Start(new CanExecuteChangedLink(WeakEventLinkRegistry.Claim(owner, source), owner, handler), source, owner);
    }

    // Attaches, releases the slot if the add accessor throws, then registers for the gen-2 purge.
    private static Subscription Start<TLink, TSource>(TLink link, TSource source, object owner)
        where TLink : WeakEventLink, ISourceAttachable<TSource>
    {
        try
        {
            link.Attach(source);
        }
        catch
        {
            link.Abandon();
            throw;
        }

        WeakEventLinkRegistry.Register(link, purgeAfterGen2: true);

        // Until it is registered, no raise may find the owner collected and detach the link (its slot would be handed
        // on while this registration is still to be written).
        GC.KeepAlive(owner);
        return link;
    }
}
