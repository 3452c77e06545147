using System.Collections.Specialized;
using System.ComponentModel;
using System.Windows.Input;
using SafeRefs.Subscriptions;
using SafeRefs.Subscriptions.WeakLinks;

namespace SafeRefs.Events;

/// <summary>
/// Ready-made weak listeners for the common BCL events: the source keeps only a small forwarder alive, never the
/// owner.
/// </summary>
/// <remarks>
/// <para><b>Holds:</b> the source holds a forwarder strongly (through its own event); the forwarder holds the source
/// and the owner weakly, and the handler with everything it captures exactly as long as the owner (an ephemeron).
/// A forwarder whose owner died is detached when the source next raises the event, or by a purge; one whose source
/// was collected is dropped by the purges. These sources count as thread-affine (see
/// <see cref="IEventSourceAffinity"/>, which a source implements to opt out): their forwarders are never detached
/// from the thread pool, only on a raise, by a purge on the subscribing thread, or through the
/// <see cref="SynchronizationContext"/> current when subscribing. A failing <c>remove</c> during such an automatic
/// detach is logged through <see cref="Diagnostics.SafeRefsLog"/> and counted.</para>
/// <para><b>Thread safety:</b> all members are thread-safe. After <see cref="Subscription.Dispose"/> returns, no
/// invocation of the handler starts; <c>Dispose</c> calls the source's <c>remove</c> accessor on the calling thread. A
/// second <see cref="Subscription.Dispose"/> does nothing.</para>
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
        return WeakLink<INotifyPropertyChanged, PropertyChangedEventHandler, PropertyChangedEventArgs>.Start(
            source, static (s, h) => s.PropertyChanged += h, static (s, h) => s.PropertyChanged -= h, static link => link.Forward,
            owner, handler, nameof(INotifyPropertyChanged.PropertyChanged), isCounted: false);
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
        return WeakLink<INotifyCollectionChanged, NotifyCollectionChangedEventHandler, NotifyCollectionChangedEventArgs>.Start(
            source, static (s, h) => s.CollectionChanged += h, static (s, h) => s.CollectionChanged -= h, static link => link.Forward,
            owner, handler, nameof(INotifyCollectionChanged.CollectionChanged), isCounted: false);
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
        return WeakLink<ICommand, EventHandler, EventArgs>.Start(
            source, static (s, h) => s.CanExecuteChanged += h, static (s, h) => s.CanExecuteChanged -= h, static link => link.Forward,
            owner, handler, nameof(ICommand.CanExecuteChanged), isCounted: false);
    }
}
