using System.Collections.Specialized;
using System.ComponentModel;

namespace SafeRefs.Events;

/// <summary>
/// <c>Raise(sender, args)</c> for the <see cref="WeakDelegateEvent{TDelegate}"/> of each BCL event shape: no
/// allocation, no reflection.
/// </summary>
/// <remarks>
/// Stateless: holds nothing, strongly or weakly; each call raises the given event with the semantics of
/// <see cref="WeakDelegateEvent{TDelegate}.Raise{TInvoker}(TInvoker)"/>. Thread-safe wherever that raise is. Nothing
/// to dispose.
/// </remarks>
public static class WeakDelegateEventExtensions
{
    /// <summary>Invokes every live handler of an <see cref="EventHandler"/> event, in subscription order.</summary>
    /// <param name="weakEvent">The event.</param>
    /// <param name="sender">The sender passed to the handlers.</param>
    /// <param name="args">The event data.</param>
    /// <exception cref="ArgumentNullException"><paramref name="weakEvent"/> is <see langword="null"/>.</exception>
    /// <exception cref="AggregateException">With <see cref="HandlerExceptionMode.ContinueAndAggregate"/>: one or more
    /// handlers threw; every handler ran.</exception>
    public static void Raise(this WeakDelegateEvent<EventHandler> weakEvent, object? sender, EventArgs args)
    {
        ArgumentNullException.ThrowIfNull(weakEvent);
        weakEvent.Raise(new EventHandlerInvoker(sender, args));
    }

    /// <summary>Invokes every live handler of an <see cref="EventHandler{TEventArgs}"/> event, in subscription order.</summary>
    /// <typeparam name="TArgs">The event data type.</typeparam>
    /// <param name="weakEvent">The event.</param>
    /// <param name="sender">The sender passed to the handlers.</param>
    /// <param name="args">The event data.</param>
    /// <exception cref="ArgumentNullException"><paramref name="weakEvent"/> is <see langword="null"/>.</exception>
    /// <exception cref="AggregateException">With <see cref="HandlerExceptionMode.ContinueAndAggregate"/>: one or more
    /// handlers threw; every handler ran.</exception>
    public static void Raise<TArgs>(this WeakDelegateEvent<EventHandler<TArgs>> weakEvent, object? sender, TArgs args)
    {
        ArgumentNullException.ThrowIfNull(weakEvent);
        weakEvent.Raise(new EventHandlerInvoker<TArgs>(sender, args));
    }

    /// <summary>Invokes every live handler of a <see cref="INotifyPropertyChanged.PropertyChanged"/> event, in subscription order.</summary>
    /// <param name="weakEvent">The event.</param>
    /// <param name="sender">The sender passed to the handlers.</param>
    /// <param name="args">The event data.</param>
    /// <exception cref="ArgumentNullException"><paramref name="weakEvent"/> is <see langword="null"/>.</exception>
    /// <exception cref="AggregateException">With <see cref="HandlerExceptionMode.ContinueAndAggregate"/>: one or more
    /// handlers threw; every handler ran.</exception>
    public static void Raise(this WeakDelegateEvent<PropertyChangedEventHandler> weakEvent, object? sender, PropertyChangedEventArgs args)
    {
        ArgumentNullException.ThrowIfNull(weakEvent);
        weakEvent.Raise(new PropertyChangedInvoker(sender, args));
    }

    /// <summary>Invokes every live handler of a <see cref="INotifyCollectionChanged.CollectionChanged"/> event, in subscription order.</summary>
    /// <param name="weakEvent">The event.</param>
    /// <param name="sender">The sender passed to the handlers.</param>
    /// <param name="args">The event data.</param>
    /// <exception cref="ArgumentNullException"><paramref name="weakEvent"/> is <see langword="null"/>.</exception>
    /// <exception cref="AggregateException">With <see cref="HandlerExceptionMode.ContinueAndAggregate"/>: one or more
    /// handlers threw; every handler ran.</exception>
    public static void Raise(this WeakDelegateEvent<NotifyCollectionChangedEventHandler> weakEvent, object? sender, NotifyCollectionChangedEventArgs args)
    {
        ArgumentNullException.ThrowIfNull(weakEvent);
        weakEvent.Raise(new CollectionChangedInvoker(sender, args));
    }

    private readonly struct EventHandlerInvoker(object? sender, EventArgs args) : IWeakEventInvoker<EventHandler>
    {
        public void Invoke(EventHandler handler) => handler(sender, args);
    }

    private readonly struct EventHandlerInvoker<TArgs>(object? sender, TArgs args) : IWeakEventInvoker<EventHandler<TArgs>>
    {
        public void Invoke(EventHandler<TArgs> handler) => handler(sender, args);
    }

    private readonly struct PropertyChangedInvoker(object? sender, PropertyChangedEventArgs args) : IWeakEventInvoker<PropertyChangedEventHandler>
    {
        public void Invoke(PropertyChangedEventHandler handler) => handler(sender, args);
    }

    private readonly struct CollectionChangedInvoker(object? sender, NotifyCollectionChangedEventArgs args) : IWeakEventInvoker<NotifyCollectionChangedEventHandler>
    {
        public void Invoke(NotifyCollectionChangedEventHandler handler) => handler(sender, args);
    }
}
