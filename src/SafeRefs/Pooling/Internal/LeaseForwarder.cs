using System.Collections.Specialized;
using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace SafeRefs.Pooling.Internal;

/// <summary>
/// What the event of a pooled object holds instead of a lease's <c>On</c> handler, for the delegate types it knows:
/// it starts the handler only through the object's lease gate, so no invocation starts once the lease ended (even from
/// a raise that had read the event's delegate before), and the object goes back only after a running one returned.
/// </summary>
/// <remarks>
/// One per <c>On</c> and never reused: it carries its lease's version, so a stale forwarder of an ended lease finds
/// the version moved and never runs, whichever lease of the object is current. Holds the pool and the object's state
/// strongly, and the handler until its lease ends (<see cref="Release"/>): a raise that still holds the forwarder
/// after that (a copy of the event's delegate on some stack) does not keep the handler and what it captured alive.
/// </remarks>
/// <typeparam name="T">The pooled type.</typeparam>
internal sealed class LeaseForwarder<T>
    where T : class
{
    private readonly GuardedObjectPool<T> _pool;
    private readonly PooledObjectState<T> _state;
    private readonly int _version;
    private Delegate? _handler;

    private LeaseForwarder(GuardedObjectPool<T> pool, PooledObjectState<T> state, int version, Delegate handler)
    {
        _pool = pool;
        _state = state;
        _version = version;
        _handler = handler;
    }

    /// <summary>Gets the delegate to add for <paramref name="handler"/>: a forwarder for a known delegate type, else the
    /// handler itself (plain .NET event semantics).</summary>
    internal static THandler For<THandler>(GuardedObjectPool<T> pool, PooledObjectState<T> state, int version, THandler handler)
        where THandler : Delegate
    {
        Delegate attached;
        if (typeof(THandler) == typeof(EventHandler))
        {
            attached = new EventHandler(new LeaseForwarder<T>(pool, state, version, handler).OnEventHandler);
        }
        else if (typeof(THandler) == typeof(PropertyChangedEventHandler))
        {
            attached = new PropertyChangedEventHandler(new LeaseForwarder<T>(pool, state, version, handler).OnPropertyChanged);
        }
        else if (typeof(THandler) == typeof(PropertyChangingEventHandler))
        {
            attached = new PropertyChangingEventHandler(new LeaseForwarder<T>(pool, state, version, handler).OnPropertyChanging);
        }
        else if (typeof(THandler) == typeof(NotifyCollectionChangedEventHandler))
        {
            attached = new NotifyCollectionChangedEventHandler(new LeaseForwarder<T>(pool, state, version, handler).OnCollectionChanged);
        }
        else if (typeof(THandler) == typeof(Action))
        {
            attached = new Action(new LeaseForwarder<T>(pool, state, version, handler).OnAction);
        }
        else
        {
            return handler;
        }

        return Unsafe.As<THandler>(attached);
    }

    /// <summary>Drops the handler once the lease's gate is closed: no invocation is admitted any more, and one admitted
    /// before read the handler before it entered.</summary>
    internal void Release() => Volatile.Write(ref _handler, null);

    /// <summary>Gets the forwarder for an <see cref="EventHandler{TEventArgs}"/> handler.</summary>
    internal static EventHandler<TArgs> For<TArgs>(GuardedObjectPool<T> pool, PooledObjectState<T> state, int version, EventHandler<TArgs> handler) =>
        new LeaseForwarder<T>(pool, state, version, handler).OnEvent;

    private void OnEvent<TArgs>(object? sender, TArgs e)
    {
        var handler = Volatile.Read(ref _handler);
        if (handler is not null && _state.TryEnter(_version))
        {
            try
            {
                Unsafe.As<EventHandler<TArgs>>(handler)(sender, e);
            }
            finally
            {
                Exit();
            }
        }
    }

    private void OnEventHandler(object? sender, EventArgs e)
    {
        var handler = Volatile.Read(ref _handler);
        if (handler is not null && _state.TryEnter(_version))
        {
            try
            {
                Unsafe.As<EventHandler>(handler)(sender, e);
            }
            finally
            {
                Exit();
            }
        }
    }

    private void OnPropertyChanged(object? sender, PropertyChangedEventArgs e)
    {
        var handler = Volatile.Read(ref _handler);
        if (handler is not null && _state.TryEnter(_version))
        {
            try
            {
                Unsafe.As<PropertyChangedEventHandler>(handler)(sender, e);
            }
            finally
            {
                Exit();
            }
        }
    }

    private void OnPropertyChanging(object? sender, PropertyChangingEventArgs e)
    {
        var handler = Volatile.Read(ref _handler);
        if (handler is not null && _state.TryEnter(_version))
        {
            try
            {
                Unsafe.As<PropertyChangingEventHandler>(handler)(sender, e);
            }
            finally
            {
                Exit();
            }
        }
    }

    private void OnCollectionChanged(object? sender, NotifyCollectionChangedEventArgs e)
    {
        var handler = Volatile.Read(ref _handler);
        if (handler is not null && _state.TryEnter(_version))
        {
            try
            {
                Unsafe.As<NotifyCollectionChangedEventHandler>(handler)(sender, e);
            }
            finally
            {
                Exit();
            }
        }
    }

    private void OnAction()
    {
        var handler = Volatile.Read(ref _handler);
        if (handler is not null && _state.TryEnter(_version))
        {
            try
            {
                Unsafe.As<Action>(handler)();
            }
            finally
            {
                Exit();
            }
        }
    }

    // The last callback out of an ended lease hands the object back, on this thread; a failure there is logged, never
    // thrown into the raise.
    private void Exit()
    {
        if (_state.Exit())
        {
            _pool.HandBack(_state, rethrow: false);
        }
    }
}
