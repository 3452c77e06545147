using System.Runtime.CompilerServices;
using SafeRefs.Subscriptions;

namespace SafeRefs.Internal;

/// <summary>
/// The per-subscription object of a weak event subscription (<c>Subscribe.WeakEvent</c>, <c>WeakSubscriptions</c>),
/// which is also its token: the source holds its forwarding delegate; the owner and the source are held weakly through
/// the handles of its <see cref="LinkSlot"/>; the registry holds it strongly (through the slot) until it is detached.
/// </summary>
/// <remarks>
/// <para>No finalizer. Its slot (and the capturing handler's dependent handle, if any) is released exactly once, when
/// the link has been detached and no callback or purge check is reading it: <see cref="_state"/> counts readers in its
/// low bits and carries the detached and released flags.</para>
/// <para>Detaching is done by whoever claims the token's detacher first (one atomic operation on that field):
/// <see cref="Subscription.Dispose"/> (which takes the detacher out anyway), or a raise that finds the owner collected,
/// or a purge (which swap in <see cref="LostClaimDetacher"/>, so that a later <c>Dispose</c> still finds something to
/// call). The winner takes the forwarder off the source first, then off the registry, and only then sets the detached
/// flag; a raise, purge or <c>Dispose</c> that lost the race removes the forwarder from the source too (a no-op if
/// already gone), so the source is clean when it returns.</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable", Justification = "The link is the token: disposing it detaches it.")]
internal abstract class WeakEventLink : Subscription
{
    private const int DetachedFlag = 1 << 29;
    private const int ReleasedFlag = 1 << 30;

    private int _state;
    private TaskCompletionSource? _idle;

    /// <summary>Initializes a new instance of the <see cref="WeakEventLink"/> class (its own token).</summary>
    /// <param name="slot">The claimed registry slot whose handles point at the owner and the source.</param>
    protected WeakEventLink(LinkSlot slot)
        : base(ClaimedDetacher.Instance, null, null)
    {
        Slot = slot;
    }

    /// <summary>Gets the registry slot (valid until the link is released).</summary>
    internal LinkSlot Slot { get; }

    /// <summary>Gets or sets a value indicating whether the active-subscriptions metric counted this link.</summary>
    internal bool Counted { get; set; }

    /// <summary>Gets a value indicating whether a purge on the thread pool may detach this link (call the remove accessor there).</summary>
    internal virtual bool AllowsBackgroundPurge => true;

    /// <summary>Gets a value indicating whether the link is detached: off the source and off the registry.</summary>
    internal bool IsDetached => (Volatile.Read(ref _state) & DetachedFlag) != 0;

    /// <summary>Releases a link that was never attached (its add accessor threw): nothing can read it.</summary>
    internal void Abandon()
    {
        Volatile.Write(ref _state, DetachedFlag | ReleasedFlag);
        Release();
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

            if (TryClaim())
            {
                DetachClaimed();
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

    /// <summary>For a raise or purge that found the owner (or source) collected: claims the detach through the token.</summary>
    /// <returns><see langword="true"/> when this call won the detach (then call <see cref="DetachClaimed"/>).</returns>
    protected bool TryClaim() => TryReplaceDetacher(ClaimedDetacher.Instance, LostClaimDetacher.Instance);

    /// <summary>Detaches from the source (if still alive) and leaves the registry; called once, by the claim's winner.</summary>
    protected void DetachClaimed()
    {
        // The winner needs no reader registration: the slot is released only after the detached flag, which only the
        // winner sets, below.
        try
        {
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
                Slot.Unregister();
            }
        }
        finally
        {
            // Only now do new invocations stop entering (a raise that entered before still sees the handles, and one
            // that cannot enter knows the forwarder is already off the source).
            if (Interlocked.CompareExchange(ref _state, DetachedFlag | ReleasedFlag, 0) == 0)
            {
                Release();
            }
            else if (Interlocked.Add(ref _state, DetachedFlag) == DetachedFlag)
            {
                TryRelease();
            }
        }
    }

    /// <summary>A <c>Dispose</c> that found the detach claimed by a raise or purge: removes the forwarder too.</summary>
    internal void RemoveAfterLostClaim()
    {
        if (Enter())
        {
            try
            {
                RemoveFromSource();
            }
            finally
            {
                Exit();
            }
        }
    }

    /// <summary>Completes when the link is released (detached, and no callback reads it any more).</summary>
    internal ValueTask WhenIdleAsync()
    {
        if ((Volatile.Read(ref _state) & ReleasedFlag) != 0)
        {
            return default;
        }

        var idle = Volatile.Read(ref _idle)
            ?? Interlocked.CompareExchange(ref _idle, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null)
            ?? _idle;
        if ((Volatile.Read(ref _state) & ReleasedFlag) != 0)
        {
            idle.TrySetResult();
        }

        return new ValueTask(idle.Task);
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

    /// <summary>Stops reading the handles; the last reader after detaching releases them.</summary>
    protected void Exit()
    {
        if (Interlocked.Decrement(ref _state) == DetachedFlag)
        {
            TryRelease();
        }
    }

    /// <summary>Called between <see cref="Enter"/> and <see cref="Exit"/>: is the owner or the source collected?</summary>
    protected abstract bool IsDead();

    /// <summary>Removes the forwarder from the source, if the source is alive; called while the handles are valid.</summary>
    protected abstract void RemoveFromSource();

    /// <summary>Frees what the link owns besides its slot; called once, when nothing reads it any more.</summary>
    protected virtual void FreeOwnHandles()
    {
    }

    /// <summary>Releases once: only the transition from "detached, no reader" to "released" wins.</summary>
    private void TryRelease()
    {
        if (Interlocked.CompareExchange(ref _state, DetachedFlag | ReleasedFlag, DetachedFlag) == DetachedFlag)
        {
            Release();
        }
    }

    private void Release()
    {
        FreeOwnHandles();
        WeakEventLinkRegistry.Return(Slot);
        Volatile.Read(ref _idle)?.TrySetResult();
    }

    /// <summary>
    /// What an attached link's token field holds: the <c>Dispose</c> that takes it out owns the detach (the token's first
    /// slot is the link itself).
    /// </summary>
    private sealed class ClaimedDetacher : Detacher
    {
        public static readonly ClaimedDetacher Instance = new();

        public override void Detach(object? slot0, object? slot1, object? slot2) => Unsafe.As<WeakEventLink>(slot0!).DetachClaimed();

        public override ValueTask WhenCallbacksIdleAsync(object? slot0, object? slot1, object? slot2) => Unsafe.As<WeakEventLink>(slot0!).WhenIdleAsync();
    }

    /// <summary>
    /// What a token holds once a raise or purge claimed its link's detach: a later <c>Dispose</c> removes the forwarder
    /// too (so the source is clean when it returns) and <c>DisposeAsync</c> waits for the link's callbacks.
    /// </summary>
    private sealed class LostClaimDetacher : Detacher
    {
        public static readonly LostClaimDetacher Instance = new();

        public override void Detach(object? slot0, object? slot1, object? slot2) => ((WeakEventLink)slot0!).RemoveAfterLostClaim();

        public override ValueTask WhenCallbacksIdleAsync(object? slot0, object? slot1, object? slot2) => ((WeakEventLink)slot0!).WhenIdleAsync();
    }
}
