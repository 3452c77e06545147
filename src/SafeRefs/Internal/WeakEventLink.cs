namespace SafeRefs.Internal;

/// <summary>
/// The per-subscription object of a weak event: the source holds its forwarding delegate, the owner is held weakly,
/// and the registry holds it strongly (with the source held weakly) until it is disposed or purged.
/// </summary>
/// <remarks>
/// <para>No finalizer. Its GC handles are freed exactly once, when it has been detached and no callback or purge check
/// is reading them: <see cref="_state"/> counts readers in its low bits and carries the detached flag.</para>
/// <para>Detaching is done by whoever sets the detached flag first: <see cref="Subscriptions.Subscription.Dispose"/>,
/// a raise that finds the owner collected, or a purge.</para>
/// </remarks>
internal abstract class WeakEventLink : Detacher
{
    private const int DetachedFlag = 1 << 30;

    private int _state;
    private int _released;
    private int _detaching;
    private TaskCompletionSource? _idle;

    /// <summary>Gets or sets the slot in <see cref="WeakEventLinkRegistry"/>; guarded by the registry's lock; -1 when not registered.</summary>
    internal int RegistryIndex { get; set; } = -1;

    /// <summary>Gets or sets a value indicating whether the active-subscriptions metric counted this link.</summary>
    internal bool Counted { get; set; }

    public sealed override void Detach(object? slot0, object? slot1, object? slot2) => DetachCore();

    public sealed override ValueTask WhenCallbacksIdleAsync(object? slot0, object? slot1, object? slot2)
    {
        if (Volatile.Read(ref _released) != 0)
        {
            return default;
        }

        var idle = Volatile.Read(ref _idle)
            ?? Interlocked.CompareExchange(ref _idle, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null)
            ?? _idle;
        if (Volatile.Read(ref _released) != 0)
        {
            idle.TrySetResult();
        }

        return new ValueTask(idle.Task);
    }

    /// <summary>For a purge: detaches if the owner or the source has been collected.</summary>
    /// <returns><see langword="true"/> when this call detached it.</returns>
    internal bool PurgeIfDead()
    {
        if (!Enter())
        {
            // Already detached, and off the source: the detached flag is set only after removal.
            return false;
        }

        try
        {
            if (!IsDead())
            {
                return false;
            }

            if (DetachCore())
            {
                return true;
            }

            // A detach on another thread won and may still be removing the forwarder: remove it here too (removing an
            // absent handler is a no-op), so that the source is clean when this purge returns.
            RemoveFromSource();
            return false;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Detaches from the source (if still alive) and leaves the registry; exactly once.</summary>
    /// <returns><see langword="true"/> for the call that detached.</returns>
    protected bool DetachCore()
    {
        Interlocked.Increment(ref _state);
        try
        {
            if (Interlocked.Exchange(ref _detaching, 1) != 0)
            {
                return false;
            }

            if (Counted)
            {
                Metrics.SubscriptionInstruments.Detached();
            }

            // Off the source before off the registry: a purge that still finds this link in the registry can then
            // finish the removal itself, and one that no longer finds it knows the removal is done.
            try
            {
                RemoveFromSource();
            }
            finally
            {
                WeakEventLinkRegistry.Remove(this);

                // Only now do new invocations stop entering: a raise that enters before this point still sees its
                // handles, and one that cannot enter knows the forwarder is already off the source.
                Interlocked.Or(ref _state, DetachedFlag);
            }

            return true;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Starts reading the handles; <see langword="false"/> when already detached (then nothing may be read).</summary>
    protected bool Enter()
    {
        if ((Interlocked.Increment(ref _state) & DetachedFlag) != 0)
        {
            Exit();
            return false;
        }

        return true;
    }

    /// <summary>Stops reading the handles; the last reader after detaching frees them.</summary>
    protected void Exit()
    {
        if (Interlocked.Decrement(ref _state) == DetachedFlag && Interlocked.Exchange(ref _released, 1) == 0)
        {
            FreeHandles();
            Volatile.Read(ref _idle)?.TrySetResult();
        }
    }

    /// <summary>Called between <see cref="Enter"/> and <see cref="Exit"/>.</summary>
    protected abstract bool IsDead();

    /// <summary>Called once, while the handles are still allocated.</summary>
    protected abstract void RemoveFromSource();

    /// <summary>Called once, when nothing reads the handles any more.</summary>
    protected abstract void FreeHandles();
}
