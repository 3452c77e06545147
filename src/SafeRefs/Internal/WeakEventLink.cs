using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using SafeRefs.Subscriptions;
using SafeRefs.Subscriptions.Internal;

namespace SafeRefs.Internal;

/// <summary>
/// The per-subscription object of a weak event subscription (<c>Subscribe.WeakEvent</c>, <c>WeakSubscriptions</c>),
/// which is also its token: the source holds its forwarding delegate; the owner and the source are held weakly through
/// the handles of its <see cref="LinkSlot"/>; the registry holds it strongly (through the slot) until it is detached.
/// </summary>
/// <remarks>
/// <para>No finalizer. Detaching is done by whoever claims the token's detacher first (one atomic operation on that
/// field): <see cref="Subscription.Dispose"/> (which takes the detacher out anyway), or a raise that finds the owner
/// collected, or a purge (which swap in <see cref="LostClaimDetacher"/>, so that a later <c>Dispose</c> still finds
/// something to call). The winner takes the forwarder off the source first, then off the registry, then sets the
/// detached flag and only then returns the slot; a raise, purge or <c>Dispose</c> that lost the race removes the
/// forwarder from the source too (a no-op if already gone), so the source is clean when it returns.</para>
/// <para>The slot goes back to the registry at once, even while a raise or purge is still reading this link: the slot's
/// handles are never freed, only retargeted by a later link, and its generation changes before that. Whoever reads the
/// handles (<see cref="SourceOrNull"/>, the derived links' owner reads) checks afterwards that the generation is still this
/// link's; if not, the link is detached and what was read is dropped. What the link owns itself (the capturing
/// handler's dependent handle) is freed exactly once, when the link is detached and no reader is inside
/// (<see cref="_readers"/>, <see cref="_released"/>); <c>DisposeAsync</c> waits for the same moment.</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable", Justification = "The link is the token: disposing it detaches it.")]
internal abstract class WeakEventLink : Subscription
{
    private readonly long _generation;
    private int _readers;
    private int _detached;
    private int _released;
    private TaskCompletionSource? _idle;

    /// <summary>Initializes a new instance of the <see cref="WeakEventLink"/> class (its own token).</summary>
    /// <param name="slot">The claimed registry slot whose handles point at the owner and the source.</param>
    /// <param name="slot1">The token's second slot (the first is the link itself), for the derived link.</param>
    /// <param name="slot2">The token's third slot, for the derived link.</param>
    protected WeakEventLink(LinkSlot slot, object? slot1, object? slot2)
        : base(ClaimedDetacher.Instance, slot1, slot2)
    {
        Slot = slot;
        _generation = slot.Generation;
    }

    /// <summary>
    /// Tests only: runs in a raise, purge or lost-claim <c>Dispose</c> right after it entered the link, before it reads
    /// the slot's handles: the window in which the link can be detached and its slot taken by another link. Null in
    /// production.
    /// </summary>
    internal static Action<WeakEventLink>? AfterEnterHook { get; set; }

    /// <summary>Gets the registry slot (this link's until it is detached; then possibly another link's).</summary>
    internal LinkSlot Slot { get; }

    /// <summary>Gets or sets a value indicating whether the active-subscriptions metric counted this link.</summary>
    internal bool Counted { get; set; }

    /// <summary>Gets a value indicating whether a purge on the thread pool may detach this link (call the remove accessor there).</summary>
    internal virtual bool AllowsBackgroundPurge => true;

    /// <summary>Gets a value indicating whether the link is detached: off the source and off the registry.</summary>
    internal bool IsDetached => Volatile.Read(ref _detached) != 0;

    /// <summary>Gets a value indicating whether the link's own handles are freed (detached and no reader left; tests).</summary>
    internal bool IsReleased => Volatile.Read(ref _released) != 0;

    /// <summary>Gets a value indicating whether the link owns something that must be freed once no reader is inside.</summary>
    protected bool OwnsHandles { get; private protected set; }

    /// <summary>Releases a link that was never attached (its add accessor threw).</summary>
    internal void Abandon()
    {
        Volatile.Write(ref _detached, 1);
        ReturnSlot();
        Interlocked.MemoryBarrier();
        ReleaseIfIdle();
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
        // The winner reads the slot's handles without a reader registration: only the winner returns the slot, below.
        if (Counted)
        {
            Metrics.SubscriptionInstruments.Detached();
        }

        // Off the source before off the registry: a purge that still finds this link in the registry can then finish the
        // removal itself, and one that no longer finds it knows the removal is done.
        try
        {
            RemoveFromSource();
        }
        catch
        {
            // A remove accessor that throws: the link still leaves the registry and returns its slot.
            LeaveRegistry();
            throw;
        }

        LeaveRegistry();
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

    /// <summary>Completes when the link is detached and no callback (or purge check) reads it any more.</summary>
    internal ValueTask WhenIdleAsync()
    {
        if (Volatile.Read(ref _released) != 0 || ReleaseIfIdle())
        {
            return default;
        }

        // Installing the completion source is a full fence: a reader that leaves after it sees it (and completes it);
        // one that left before is seen by the checks below.
        var idle = Volatile.Read(ref _idle)
            ?? Interlocked.CompareExchange(ref _idle, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null)
            ?? _idle;
        if (ReleaseIfIdle() || Volatile.Read(ref _released) != 0)
        {
            idle.TrySetResult();
        }

        return new ValueTask(idle.Task);
    }

    /// <summary>Starts reading the link; <see langword="false"/> when already detached (then nothing may be read).</summary>
    protected bool Enter()
    {
        Interlocked.Increment(ref _readers);
        if (Volatile.Read(ref _detached) != 0)
        {
            Exit();
            return false;
        }

        AfterEnterHook?.Invoke(this);
        return true;
    }

    /// <summary>Stops reading the link; the last reader after detaching frees what the link owns.</summary>
    protected void Exit()
    {
        if (Interlocked.Decrement(ref _readers) == 0 && Volatile.Read(ref _detached) != 0)
        {
            TryRelease();
        }
    }

    /// <summary>
    /// Gets the source through the slot's weak handle; <see langword="null"/> once collected, or when the slot has moved
    /// on to another link (then this link is detached and off the source).
    /// </summary>
    protected object? SourceOrNull()
    {
        var source = Slot.Source.TryGetTarget(out var target) ? target : null;
        return SlotStillThisLinks() ? source : null;
    }

    /// <summary>
    /// After reading the slot's handles: is the slot still this link's? A later link retargets them only after the
    /// generation changed (when this link returned the slot), so an unchanged generation means they were this link's.
    /// </summary>
    protected bool SlotStillThisLinks()
    {
        if (!X86Base.IsSupported)
        {
            // Keep the handle reads before the generation read on weakly ordered processors (x86 keeps loads in order).
            Interlocked.MemoryBarrier();
        }

        return Slot.Generation == _generation;
    }

    /// <summary>Called between <see cref="Enter"/> and <see cref="Exit"/>: is the owner or the source collected?</summary>
    protected abstract bool IsDead();

    /// <summary>Removes the forwarder from the source, if the source is alive and the slot still this link's.</summary>
    protected abstract void RemoveFromSource();

    /// <summary>Frees what the link owns besides its slot; called once, when nothing reads it any more.</summary>
    protected virtual void FreeOwnHandles()
    {
    }

    /// <summary>After the removal from the source (or its attempt): off the registry, detached, slot returned.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void LeaveRegistry()
    {
        Slot.Unregister();

        // Only now do new invocations stop entering (a raise that entered before reads the handles and then checks the
        // slot's generation, which changes only below; one that cannot enter knows the forwarder is already off the
        // source).
        Volatile.Write(ref _detached, 1);
        ReturnSlot();
        if (OwnsHandles)
        {
            // Free them now unless a reader is inside (then its exit frees them): the flag above is published before the
            // reader count is read, and a reader counts itself before reading the flag.
            Interlocked.MemoryBarrier();
            ReleaseIfIdle();
        }
    }

    /// <summary>Once the link is detached: the slot goes back to the registry (its generation moves on first).</summary>
    private void ReturnSlot() => WeakEventLinkRegistry.Return(Slot);

    /// <summary>
    /// Releases if the link is detached and no reader is inside (detached first, then no reader: a reader that counts
    /// itself after this sees the flag and stays out).
    /// </summary>
    /// <returns><see langword="true"/> when the link is idle (released now or before).</returns>
    private bool ReleaseIfIdle()
    {
        if (Volatile.Read(ref _detached) == 0 || Volatile.Read(ref _readers) != 0)
        {
            return false;
        }

        TryRelease();
        return true;
    }

    /// <summary>Releases once: called when the link was seen detached with no reader inside.</summary>
    private void TryRelease()
    {
        if (Interlocked.CompareExchange(ref _released, 1, 0) == 0)
        {
            FreeOwnHandles();
            Volatile.Read(ref _idle)?.TrySetResult();
        }
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
