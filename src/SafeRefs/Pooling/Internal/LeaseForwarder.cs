using System.Collections.Specialized;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using SafeRefs.Internal;
using SafeRefs.Subscriptions;

namespace SafeRefs.Pooling.Internal;

/// <summary>
/// What the event of a pooled object holds instead of a lease's <c>On</c> handler, for the delegate types it knows
/// (and, as the gate of the forwarder registered for another type, through <see cref="IEventForwarderGate"/>):
/// it starts the handler only through the object's lease gate, so no invocation starts once the lease ended (even from
/// a raise that had read the event's delegate before), and the object goes back only after a running one returned.
/// </summary>
/// <remarks>
/// One per <c>On</c> and never reused: it carries its lease's version, so a stale forwarder of an ended lease finds
/// the version moved and never runs, whichever lease of the object is current (reused, a raise that read it in an
/// earlier lease would start the next lease's handler). Holds the object's state (and so the pool) strongly, and the handler until its
/// lease ends (<see cref="Release"/>, also when the event holds a registered forwarder around it): a raise that still holds the forwarder after that (a copy of the event's
/// delegate on some stack) does not keep the handler and what it captured alive.
/// </remarks>
/// <typeparam name="T">The pooled type.</typeparam>
internal sealed class LeaseForwarder<T> : IEventForwarderGate
    where T : class
{
    private readonly PooledObjectState<T> _state;
    private readonly long _version;
    private Delegate? _handler;

    internal LeaseForwarder(PooledObjectState<T> state, long version, Delegate handler)
    {
        _state = state;
        _version = version;
        _handler = handler ?? throw new ArgumentNullException(nameof(handler)); // the parameter of On
    }

    /// <summary>Gets the delegate to add for the handler: this forwarder for a known delegate type or through the
    /// forwarder registered for the type, else the handler itself (plain .NET event semantics).</summary>
    /// <remarks>Every known type but <see cref="Action"/> has the shape <c>(object? sender, TArgs e)</c> with a reference
    /// type <c>TArgs</c>, the shape of <see cref="EventHandler{TEventArgs}"/>: <see cref="Forward{TArgs}"/> serves them
    /// all and calls the handler through that shape (the same two arguments to the same method).</remarks>
    internal THandler As<THandler>()
        where THandler : Delegate
    {
        Delegate attached;
        if (typeof(THandler) == typeof(EventHandler))
        {
            attached = new EventHandler(Forward);
        }
        else if (typeof(THandler) == typeof(PropertyChangedEventHandler))
        {
            attached = new PropertyChangedEventHandler(Forward);
        }
        else if (typeof(THandler) == typeof(PropertyChangingEventHandler))
        {
            attached = new PropertyChangingEventHandler(Forward);
        }
        else if (typeof(THandler) == typeof(NotifyCollectionChangedEventHandler))
        {
            attached = new NotifyCollectionChangedEventHandler(Forward);
        }
        else if (typeof(THandler) == typeof(Action))
        {
            attached = new Action(ForwardAction);
        }
        else
        {
            attached = EventForwarders.Create<THandler>(this) ?? _handler!;
        }

        return Unsafe.As<THandler>(attached);
    }

    /// <summary>Gets the forwarder for an <see cref="EventHandler{TEventArgs}"/> handler.</summary>
    internal EventHandler<TArgs> AsEventHandler<TArgs>() => Forward;

    /// <summary>Gets the forwarder for an <see cref="Action{T}"/> handler.</summary>
    internal Action<T1> AsAction<T1>() => ForwardAction;

    /// <summary>Gets the forwarder for an <see cref="Action{T1, T2}"/> handler.</summary>
    internal Action<T1, T2> AsAction<T1, T2>() => ForwardAction;

    /// <summary>Drops the handler once the lease's gate is closed: no invocation is admitted any more, and one admitted
    /// before read the handler before it entered.</summary>
    internal void Release() => Volatile.Write(ref _handler, null);

    private void Forward<TArgs>(object? sender, TArgs e)
    {
        if (Enter() is { } handler)
        {
            try
            {
                Unsafe.As<EventHandler<TArgs>>(handler)(sender, e);
            }
            finally
            {
                Leave();
            }
        }
    }

    private void ForwardAction()
    {
        if (Enter() is { } handler)
        {
            try
            {
                Unsafe.As<Action>(handler)();
            }
            finally
            {
                Leave();
            }
        }
    }

    private void ForwardAction<T1>(T1 arg)
    {
        if (Enter() is { } handler)
        {
            try
            {
                Unsafe.As<Action<T1>>(handler)(arg);
            }
            finally
            {
                Leave();
            }
        }
    }

    private void ForwardAction<T1, T2>(T1 arg1, T2 arg2)
    {
        if (Enter() is { } handler)
        {
            try
            {
                Unsafe.As<Action<T1, T2>>(handler)(arg1, arg2);
            }
            finally
            {
                Leave();
            }
        }
    }

    /// <inheritdoc/>
    Delegate? IEventForwarderGate.TryEnter(out object? state)
    {
        state = null;
        return Enter();
    }

    /// <inheritdoc/>
    void IEventForwarderGate.Leave(object? state) => Leave();

    // Admits one invocation through the gate: the handler to run, then Leave; or null (not admitted, or the lease ended
    // in between and it left again).
    private Delegate? Enter()
    {
        var handler = Volatile.Read(ref _handler);
        if (handler is null || !_state.Admit(_version))
        {
            return null;
        }

        if (_state.IsCurrent(_version))
        {
            return handler;
        }

        Leave();
        return null;
    }

    // The last callback out of an ended lease hands the object back, on this thread; a failure there is logged, never
    // thrown into the raise.
    private void Leave()
    {
        if (_state.Exit())
        {
            _state.Pool.HandBack(_state, report: true);
        }
    }
}
