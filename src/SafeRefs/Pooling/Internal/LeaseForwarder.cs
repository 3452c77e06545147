using System.Collections.Specialized;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using SafeRefs.Internal;
using SafeRefs.Subscriptions;

namespace SafeRefs.Pooling.Internal;

/// <summary>
/// What the event of a pooled object holds instead of a lease's <c>On</c> handler, for the delegate types it knows
/// (and, as the gate of the forwarder registered for another type, through <see cref="IEventForwarderGate"/>):
/// it starts the handler only as a callback counted by its lease, so no invocation starts once the lease ended (even from
/// a raise that had read the event's delegate before), and the object goes back only after a running one returned.
/// </summary>
/// <remarks>
/// One per <c>On</c> and never reused: it enters through its own lease, so a stale forwarder of an ended lease never
/// runs, whichever lease of the object is current (reused, a raise that read it in an earlier lease would start the
/// next lease's handler). Holds its lease (and so the pool) strongly, and the handler until its
/// lease ends (<see cref="Release"/>, also when the event holds a registered forwarder around it): a raise that still holds the forwarder after that (a copy of the event's
/// delegate on some stack) does not keep the handler and what it captured alive.
/// </remarks>
/// <typeparam name="T">The pooled type.</typeparam>
internal sealed class LeaseForwarder<T> : IEventForwarderGate
    where T : class
{
    private readonly PoolLease<T> _lease;
    private Delegate? _handler;

    internal LeaseForwarder(PoolLease<T> lease, Delegate handler)
    {
        _lease = lease;
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

    /// <summary>Drops the handler once the lease has ended: no invocation is admitted any more, and one admitted
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

    // Admits one invocation: the handler to run, then Leave; or null (the lease has ended).
    private Delegate? Enter() => Volatile.Read(ref _handler) is { } handler && _lease.TryEnter() ? handler : null;

    private void Leave() => _lease.Exit();
}
