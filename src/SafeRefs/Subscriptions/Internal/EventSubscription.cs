using System.Collections.Specialized;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>
/// The token of <c>Subscribe.Event</c>. For the delegate types it knows, the source holds a forwarder bound to this
/// token rather than the user's handler, and the forwarder starts the handler only through the token's gate:
/// after <see cref="Subscription.Dispose"/> returns, no invocation starts, even from a raise that had already read the
/// event's delegate. For another delegate type the source holds the forwarder registered for it
/// (<see cref="EventForwarders"/>), which calls through a gate object wrapping this token; for a type
/// with none, the handler itself (plain .NET event semantics).
/// </summary>
/// <remarks>
/// The typed source and remove accessor live in <see cref="EventSubscription{TSource, THandler}"/>; this part holds
/// what a forwarder needs, so that one forwarder serves every source type.
/// </remarks>
internal abstract class EventSubscription : GatedSubscription
{
    private Delegate? _handler;
    private Delegate? _attached;

    /// <summary>Initializes a new instance of the <see cref="EventSubscription"/> class; its creator sets what is attached.</summary>
    private protected EventSubscription(Delegate handler) => _handler = handler;

    /// <summary>Gets the delegate added to the event: a forwarder, or the handler for a delegate type without one.</summary>
    internal Delegate Attached => _attached!;

    /// <summary>Creates the token of an event of <typeparamref name="THandler"/> and, for a known delegate type, its forwarder.</summary>
    internal static EventSubscription Create<TSource, THandler>(TSource source, Action<TSource, THandler> remove, THandler handler, ListenerCount? counter)
        where TSource : class
        where THandler : Delegate
    {
        var token = new EventSubscription<TSource, THandler>(source, remove, handler, counter);
        if (typeof(THandler) == typeof(EventHandler))
        {
            token._attached = new EventHandler(token.OnEventHandler);
        }
        else if (typeof(THandler) == typeof(PropertyChangedEventHandler))
        {
            token._attached = new PropertyChangedEventHandler(token.OnPropertyChanged);
        }
        else if (typeof(THandler) == typeof(PropertyChangingEventHandler))
        {
            token._attached = new PropertyChangingEventHandler(token.OnPropertyChanging);
        }
        else if (typeof(THandler) == typeof(NotifyCollectionChangedEventHandler))
        {
            token._attached = new NotifyCollectionChangedEventHandler(token.OnCollectionChanged);
        }
        else if (typeof(THandler) == typeof(Action))
        {
            token._attached = new Action(token.OnAction);
        }
        else if (EventForwarders.Create<THandler>(new ForwarderGate(token)) is { } forwarder)
        {
            token._attached = forwarder;
        }
        else
        {
            token._attached = handler;
        }

        return token;
    }

    /// <summary>Sets the forwarder of a derived token (its method lives on the derived type).</summary>
    private protected void SetForwarder(Delegate forwarder) => _attached = forwarder;

    /// <summary>Admits one invocation of the handler, or returns <see langword="null"/> once disposed; pair with <c>Leave</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected THandler? Enter<THandler>()
        where THandler : Delegate
    {
        // Read before entering: the handler is cleared only after the gate closed, so a caller that reads null would not
        // be admitted anyway, and one admitted with the handler it read entered before the close.
        var handler = Volatile.Read(ref _handler);
        return handler is not null && TryEnter() ? Unsafe.As<THandler>(handler) : null;
    }

    /// <summary>After the detach, the token keeps neither the handler nor (for a delegate type without a forwarder) the attached delegate.</summary>
    private protected override void ReleaseCallback()
    {
        Volatile.Write(ref _handler, null);
        Volatile.Write(ref _attached, null);
    }

    private void OnEventHandler(object? sender, EventArgs e)
    {
        if (Enter<EventHandler>() is { } handler)
        {
            try
            {
                handler(sender, e);
            }
            finally
            {
                Leave();
            }
        }
    }

    private void OnPropertyChanged(object? sender, PropertyChangedEventArgs e)
    {
        if (Enter<PropertyChangedEventHandler>() is { } handler)
        {
            try
            {
                handler(sender, e);
            }
            finally
            {
                Leave();
            }
        }
    }

    private void OnPropertyChanging(object? sender, PropertyChangingEventArgs e)
    {
        if (Enter<PropertyChangingEventHandler>() is { } handler)
        {
            try
            {
                handler(sender, e);
            }
            finally
            {
                Leave();
            }
        }
    }

    private void OnCollectionChanged(object? sender, NotifyCollectionChangedEventArgs e)
    {
        if (Enter<NotifyCollectionChangedEventHandler>() is { } handler)
        {
            try
            {
                handler(sender, e);
            }
            finally
            {
                Leave();
            }
        }
    }

    private void OnAction()
    {
        if (Enter<Action>() is { } handler)
        {
            try
            {
                handler();
            }
            finally
            {
                Leave();
            }
        }
    }

    /// <summary>
    /// The gate a registered forwarder calls through: a separate object, so that a holder of the token (a public
    /// <see cref="Subscription"/>) cannot enter or leave its gate.
    /// </summary>
    private sealed class ForwarderGate(EventSubscription token) : IEventForwarderGate
    {
        /// <inheritdoc/>
        public Delegate? TryEnter(out object? state)
        {
            state = null;
            return token.Enter<Delegate>();
        }

        /// <inheritdoc/>
        public void Leave(object? state) => token.Leave();
    }
}
