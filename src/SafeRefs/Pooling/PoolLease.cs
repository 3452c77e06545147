using System.Runtime.CompilerServices;
using SafeRefs.Internal;
using SafeRefs.Subscriptions;
using SafeRefs.Timers;

namespace SafeRefs.Pooling;

/// <summary>
/// One use of a pooled object from <see cref="GuardedObjectPool{T}.Rent"/>: attach per-use handlers, registrations and
/// timers through it, and disposing it undoes them all before the object goes back to the pool.
/// </summary>
/// <typeparam name="T">The pooled type.</typeparam>
/// <remarks>
/// <para><b>Holds</b> the pool and the object's guard state strongly (so the object, while the lease lives). The pool
/// holds no reference to the lease: a lease that is never disposed is collected with everything it captured, and the
/// object counts as outstanding.</para>
/// <para><b>Thread safety:</b> all members are thread-safe.</para>
/// <para><b>Dispose:</b> detaches everything tracked (last in, first out; a failing detach does not stop the rest),
/// stops <see cref="Timers"/>, cancels <see cref="Token"/>, then returns <see cref="Value"/> to the pool. A second
/// <see cref="Dispose"/> does nothing, and a stale lease kept after <see cref="Dispose"/> never affects a later lease
/// of the same object: its members throw <see cref="ObjectDisposedException"/> and its <see cref="Dispose"/> does
/// nothing.</para>
/// </remarks>
public sealed class PoolLease<T> : IDisposable, IAsyncDisposable
    where T : class
{
    private readonly GuardedObjectPool<T> _pool;
    private readonly PooledSlot<T> _slot;
    private readonly int _version;

    internal PoolLease(GuardedObjectPool<T> pool, PooledSlot<T> slot, int version)
    {
        _pool = pool;
        _slot = slot;
        _version = version;
    }

    /// <summary>Gets the pooled object.</summary>
    /// <value>The object, for the duration of the lease.</value>
    /// <exception cref="ObjectDisposedException">The lease has ended.</exception>
    public T Value
    {
        get
        {
            ThrowIfEnded();
            return _slot.Value;
        }
    }

    /// <summary>Gets how many handlers and registrations the lease currently tracks.</summary>
    /// <value>0 once the lease has ended.</value>
    public int TrackedCount
    {
        get
        {
            var taken = _slot.Enter(_version);
            var count = _slot.IsCurrent(_version) ? _slot.EntryCount : 0;
            _slot.Exit(taken);
            return count;
        }
    }

    /// <summary>Gets a token that is cancelled when the lease ends: bind per-use work to it.</summary>
    /// <value>Created on first use.</value>
    /// <exception cref="ObjectDisposedException">The lease has ended.</exception>
    public CancellationToken Token
    {
        get
        {
            var taken = _slot.Enter(_version);
            try
            {
                ThrowIfEnded();
                _slot.Cts ??= new CancellationTokenSource();
                return _slot.Cts.Token;
            }
            finally
            {
                _slot.Exit(taken);
            }
        }
    }

    /// <summary>Gets a timer scope for per-use timers; it is disposed (every timer stopped) when the lease ends.</summary>
    /// <value>Created on first use, on the pool's <see cref="ListenerGuardOptions{T}.TimeProvider"/>, reporting to the
    /// pool's <see cref="ListenerGuardOptions{T}.MeterFactory"/> meter with the pooled type's full name as its
    /// <see cref="TimerScope.Name"/>.</value>
    /// <exception cref="ObjectDisposedException">The lease has ended.</exception>
    public TimerScope Timers
    {
        get
        {
            var taken = _slot.Enter(_version);
            try
            {
                ThrowIfEnded();
                _slot.Timers ??= _pool.CreateLeaseTimers();
                return _slot.Timers;
            }
            finally
            {
                _slot.Exit(taken);
            }
        }
    }

    /// <summary>Attaches <paramref name="handler"/> to an event of <see cref="Value"/> and tracks it for removal when the lease ends.</summary>
    /// <typeparam name="THandler">The event's delegate type.</typeparam>
    /// <param name="add">Adds a handler, e.g. <c>static (c, h) =&gt; c.DataReceived += h</c>.</param>
    /// <param name="remove">Removes a handler, e.g. <c>static (c, h) =&gt; c.DataReceived -= h</c>.</param>
    /// <param name="handler">The per-use handler.</param>
    /// <param name="eventName">The event's name for the per-lease limit; by default the text of <paramref name="add"/>.</param>
    /// <returns>This lease, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="add"/>, <paramref name="remove"/> or <paramref name="handler"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The lease has ended.</exception>
    /// <exception cref="ListenerLimitExceededException">The per-lease limit is reached and the action is <see cref="ListenerBudgetAction.Throw"/>; nothing was attached.</exception>
    public PoolLease<T> On<THandler>(
        Action<T, THandler> add,
        Action<T, THandler> remove,
        THandler handler,
        [CallerArgumentExpression(nameof(add))] string? eventName = null)
        where THandler : Delegate
    {
        ArgumentNullException.ThrowIfNull(add);
        ArgumentNullException.ThrowIfNull(remove);
        ArgumentNullException.ThrowIfNull(handler);
        _pool.Attach(_slot, _version, add, remove, handler, eventName ?? "(unnamed)");
        return this;
    }

    /// <summary>Tracks a registration (a <see cref="Subscription"/>, a <see cref="CancellationTokenRegistration"/>…) to dispose when the lease ends.</summary>
    /// <typeparam name="TDisposable">The registration type.</typeparam>
    /// <param name="registration">The registration.</param>
    /// <returns><paramref name="registration"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="registration"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The lease has ended (the registration is not disposed).</exception>
    public TDisposable Track<TDisposable>(TDisposable registration)
        where TDisposable : IDisposable
    {
        ArgumentNullException.ThrowIfNull(registration);
        var taken = _slot.Enter(_version);
        try
        {
            ThrowIfEnded();
            _slot.Append(new TrackedEntry<T> { Handler = registration });
        }
        finally
        {
            _slot.Exit(taken);
        }

        return registration;
    }

    /// <summary>Ends the lease: detaches everything tracked, stops timers, cancels <see cref="Token"/>, returns the object.</summary>
    /// <exception cref="AggregateException">Some detaches (or token callbacks) threw; everything else was still undone and the object discarded.</exception>
    /// <exception cref="LeaseLeakException">The probe found listeners attached behind the lease and the pool is set to <see cref="LeakAction.Throw"/>.</exception>
    public void Dispose() => _pool.End(_slot, _version);

    /// <summary>Ends the lease, as <see cref="Dispose"/>.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return default;
    }

    private void ThrowIfEnded()
    {
        if (!_slot.IsCurrent(_version))
        {
            throw new ObjectDisposedException(nameof(PoolLease<T>), "The lease has ended; its object may already serve another lease.");
        }
    }
}
