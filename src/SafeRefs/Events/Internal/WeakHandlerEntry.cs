using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using SafeRefs.Internal;

namespace SafeRefs.Events.Internal;

/// <summary>
/// One registered handler of a weak event: how its target or owner is held and how to reach its delegate.
/// Shared by every snapshot that contains it.
/// </summary>
/// <remarks>
/// <see cref="EntryKind.Strong"/> holds a delegate whose target is rooted anyway (static method or the compiler's
/// non-capturing-lambda singleton). The weak kinds hold a <see cref="WeakLinkCore"/>, the library's one weak-link
/// mechanism: <see cref="EntryKind.Owner"/> (<c>Subscribe</c>) owner → handler (or, for a handler that cannot capture,
/// the owner weakly beside the handler), closed by its token's <c>Dispose</c> or by the list dropping it dead, and
/// freed by its closer once no raise is between its check and its call (<see cref="RaiseSlot"/>: a raise announces
/// each entry in its slot, then checks the closed flag); <see cref="EntryKind.WeakTarget"/> (<c>Add</c>) target → delegate, which only keeps the delegate alive
/// with its target and is never read, so the <see cref="WeakHandlerList"/> frees it when it drops the entry (or the
/// creator of an entry never published does). A raise reads an <c>Add</c> delegate through a
/// <see cref="WeakReference{T}"/>: its handle belongs to the runtime, freed only once the reference is unreachable.
/// </remarks>
internal sealed class WeakHandlerEntry
{
    private readonly Delegate? _strongHandler;
    private readonly WeakReference<Delegate>? _added;
    private WeakLinkCore _core;
    private ListenerCount? _budgetCount;
    private RaiseSlots? _slots; // an Owner entry's, once added to a list
    private long _id;
    private int _closed;
    private bool _dropped;

    private WeakHandlerEntry(Delegate handler)
    {
        Kind = EntryKind.Strong;
        _strongHandler = handler;
    }

    private WeakHandlerEntry(EntryKind kind, object owner, Delegate handler)
    {
        Kind = kind;
        _core.Initialize(owner, handler, weak: null);
        if (kind == EntryKind.WeakTarget)
        {
            _added = new WeakReference<Delegate>(handler);
        }
    }

    /// <summary>
    /// Test seam: called by a raise that found a <c>Subscribe</c> entry open, with <see langword="true"/> before it
    /// announces the call (its disposer waits) and <see langword="false"/> after (its disposer no longer waits). One
    /// static load per owner-bound invocation; <see langword="null"/> outside tests.
    /// </summary>
    internal static Action<WeakHandlerEntry, bool>? CallHook { get; set; }

    /// <summary>Gets the weak reference to the delegate of a <see cref="EntryKind.WeakTarget"/> entry (<see langword="null"/> otherwise).</summary>
    internal WeakReference<Delegate>? Added => _added;

    /// <summary>Gets how the entry holds its handler.</summary>
    internal EntryKind Kind { get; }

    /// <summary>Gets a value indicating whether the entry is an <c>Add</c> one (<see cref="Delegate.Remove"/> matching).</summary>
    internal bool IsAdded => Kind != EntryKind.Owner;

    /// <summary>Gets a value indicating whether a <c>Subscribe</c> entry was closed (its token disposed, or dropped dead).</summary>
    internal bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>Gets the number of invocations in progress (tests).</summary>
    internal long RunningCount => _slots?.CallingCount(_id) ?? 0;

    /// <summary>Gets a value indicating whether the handler can still run (not removed, target or owner alive).</summary>
    internal bool IsAlive
    {
        get
        {
            switch (Kind)
            {
                case EntryKind.Strong:
                    return true;
                case EntryKind.WeakTarget:
                    return _added!.TryGetTarget(out _);
                default:
                    // Under the list's lock, which the entry's closer holds to free the handles.
                    return !IsClosed && _core.Owner is not null;
            }
        }
    }

    /// <summary>Gets a value indicating whether the entry can be dropped from the list (removed or dead).</summary>
    internal bool IsDead => !IsAlive;

    /// <summary>Gets the handler of a live <c>Add</c> entry (for <c>Remove</c> matching).</summary>
    internal Delegate? AddedHandlerOrNull => Kind == EntryKind.Strong ? _strongHandler : _added is not null && _added.TryGetTarget(out var added) ? added : null;

    /// <summary>
    /// Gets a value indicating whether the list dropped the entry from its snapshot. Advisory: an async raise skips a
    /// handler removed while it awaited; a stale answer only runs it once more, which multicast rules allow.
    /// </summary>
    internal bool IsDropped => Volatile.Read(ref _dropped);

    /// <summary>Gets a value indicating whether the handles were freed (tests, debug checks).</summary>
    internal bool IsFreed => _core.IsFreed;

    /// <summary>
    /// The entry of an <c>Add</c>: strong when the target is rooted anyway, otherwise weak through the target;
    /// a closure that nothing else references is refused under <see cref="Events.ClosurePolicy.Throw"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The target is an unrooted closure and the policy refuses it.</exception>
    internal static WeakHandlerEntry ForAdd(Delegate handler, Events.ClosurePolicy policy, string paramName)
    {
        var target = handler.Target;
        if (HandlerTargets.IsRootedAnyway(target))
        {
            return new(handler);
        }

        if (policy == Events.ClosurePolicy.Throw && HandlerTargets.IsUnrootedClosure(target!))
        {
            throw new ArgumentException(
                "The handler is a lambda or local function that captures variables (or a method of a boxed value type). "
                + "Add holds a handler's target weakly, and nothing else references this closure, so it would be collected "
                + "at the next GC and the handler would silently stop firing. Call Subscribe(owner, ...) "
                + "to bind the handler to the object whose lifetime it should share, or set "
                + "WeakEventOptions.CapturingLambdaWithoutOwner = ClosurePolicy.Allow to accept that it dies early.",
                paramName);
        }

        return new(EntryKind.WeakTarget, target!, handler);
    }

    /// <summary>The entry of a <c>Subscribe</c>: the owner weakly, the handler (capturing or not) exactly as long as the owner.</summary>
    internal static WeakHandlerEntry ForOwner(object owner, Delegate handler) => new(EntryKind.Owner, owner, handler);

    /// <summary>
    /// For a raise: reads the handler (and the owner); for a <c>Subscribe</c> entry, announces it in the raise's slot
    /// (taken at the first such entry; the raise releases it at its end) and checks that it is open. The slot then says
    /// "calling" until the raise announces another entry, meets a handler of another kind, or ends.
    /// <see langword="false"/> when removed, closed or dead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryBeginInvoke(ref RaiseSlot? slot, out object? owner, [NotNullWhen(true)] out Delegate? handler)
    {
        if (Kind == EntryKind.Owner)
        {
            var id = _id;
            if (slot is null)
            {
                slot = _slots!.Take(id);
            }
            else
            {
                slot.Check(id);
            }

            if (Volatile.Read(ref _closed) == 0 && _core.TryRead(out var readOwner, out var readHandler))
            {
                var hook = CallHook;
                hook?.Invoke(this, true);
                slot.Call(id);
                hook?.Invoke(this, false);
                owner = readOwner;
                handler = readHandler;
                return true;
            }

            slot.Skip();
            owner = null;
            handler = null;
            return false;
        }

        slot?.Idle();
        owner = null;
        if (Kind == EntryKind.Strong)
        {
            handler = _strongHandler!;
            return true;
        }

        return _added!.TryGetTarget(out handler);
    }

    /// <summary>For the list, under its lock, before it publishes the entry: the raise slots and the entry's id in them.</summary>
    internal void Attach(RaiseSlots slots, long id)
    {
        _slots = slots;
        _id = id;
    }

    /// <summary>
    /// Closes a <c>Subscribe</c> entry: once its closer's <see cref="Free"/> returns no invocation starts, even from a
    /// raise iterating an older snapshot. One interlocked operation.
    /// </summary>
    /// <returns><see langword="true"/> for the call that closed it, which must then call <see cref="Free"/>.</returns>
    internal bool Close() => Interlocked.Exchange(ref _closed, 1) == 0;

    /// <summary>
    /// For the closer of a <c>Subscribe</c> entry, under the list's lock (other readers of the handles hold it): waits
    /// out a raise between its check of the entry and its call (never for a running handler), then frees the handles.
    /// </summary>
    internal void Free()
    {
        WaitOutChecks();
        _core.FreeUngated();
    }

    /// <summary>
    /// For every disposer of a closed <c>Subscribe</c> entry, also one that lost its close: waits out a raise between
    /// its check of the entry and its call (never for a running handler), so that no invocation starts afterwards.
    /// </summary>
    internal void WaitOutChecks() => _slots?.WaitOutChecks(this, _id);

    /// <summary>Marks the entry dropped from the list's snapshot; under the list's lock.</summary>
    internal void MarkDropped() => Volatile.Write(ref _dropped, true);

    /// <summary>
    /// Lets go of the entry's handles, once, for whoever detaches it (the list under its lock, or the creator of an entry
    /// never published): closes and frees a <c>Subscribe</c> entry unless its token's <c>Dispose</c> closed it (that
    /// call frees it); frees an <c>Add</c> entry's at once, since nothing reads them.
    /// </summary>
    /// <returns><see langword="true"/> when this call let go of weak handles.</returns>
    internal bool Release()
    {
        if (Kind == EntryKind.Owner)
        {
            if (!Close())
            {
                return false;
            }

            Free();
            return true;
        }

        if (Kind == EntryKind.WeakTarget)
        {
            _core.FreeUngated();
            return true;
        }

        return false;
    }

    /// <summary>Completes when no invocation of a closed entry is running.</summary>
    internal ValueTask WhenIdleAsync() => _slots?.WhenNotCallingAsync(this, _id) ?? default;

    /// <summary>Remembers the budget counter this entry was counted in (set once, before publication).</summary>
    internal void SetBudgetCount(ListenerCount count) => _budgetCount = count;

    /// <summary>Gives the entry's place in its listener budget back; only the first call counts.</summary>
    internal void ReleaseBudget()
    {
        if (Volatile.Read(ref _budgetCount) is not null)
        {
            Interlocked.Exchange(ref _budgetCount, null)?.Decrement();
        }
    }

    /// <summary>How an entry holds its handler.</summary>
    internal enum EntryKind : byte
    {
        /// <summary>Static method or non-capturing lambda: held strongly (rooted anyway).</summary>
        Strong,

        /// <summary><c>Add</c> mode: target weak, delegate alive exactly as long as the target (until removed); ungated.</summary>
        WeakTarget,

        /// <summary><c>Subscribe</c> mode: owner weak, handler alive exactly as long as the owner; gated.</summary>
        Owner,
    }
}
