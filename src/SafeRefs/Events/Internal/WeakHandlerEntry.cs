using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SafeRefs.Internal;

namespace SafeRefs.Events.Internal;

/// <summary>
/// One registered handler of a weak event: how its target or owner is held and how to reach its delegate.
/// Immutable after construction except for its gate and its freed flag; shared by every snapshot that contains it.
/// </summary>
/// <remarks>
/// <para>Kinds: <see cref="EntryKind.Strong"/> holds a delegate whose target is rooted anyway (static method or
/// the compiler's non-capturing-lambda singleton). <see cref="EntryKind.WeakTarget"/> (<c>Add</c>) holds a
/// <see cref="DependentHandle"/> target → delegate, so the delegate lives exactly as long as its target, plus a
/// weak handle to the delegate: a raise reads one handle and invokes the original delegate; no reflection.
/// <see cref="EntryKind.OwnerStrongHandler"/> (<c>Subscribe</c> with a handler that captures nothing) holds the owner
/// weakly and the handler strongly. <see cref="EntryKind.OwnerBoundHandler"/> (<c>Subscribe</c> with a capturing
/// handler) holds a <see cref="DependentHandle"/> owner → handler plus a weak handle to the handler.</para>
/// <para><b>Handles.</b> The entry owns its GC handles, allocated for it alone. Its <see cref="WeakHandlerList"/>
/// frees them exactly once, under the list's lock, once the entry is out of the published snapshot and no raise is
/// in progress (see the list's remarks); an entry never published is freed by whoever created it. No finalizer.</para>
/// <para><b>Subscribe tokens.</b> Owner-bound entries invoke through an <see cref="InvocationGate"/>: a raise commits
/// to an invocation with one interlocked operation that fails once the token's <c>Dispose</c> closed the gate, so after
/// <c>Dispose</c> returns no invocation starts, and <c>DisposeAsync</c> waits for the committed ones. <c>Add</c>-mode
/// entries follow multicast-delegate rules instead (a raise already iterating may still call a removed handler).</para>
/// </remarks>
internal sealed class WeakHandlerEntry
{
    private readonly Delegate? _strongHandler;
    private DependentHandle _dependent;
    private WeakGCHandle<object> _weak;
    private InvocationGate _gate;
    private ListenerCount? _budgetCount;
    private bool _dropped;
    private bool _freed;

    private WeakHandlerEntry(EntryKind kind, Delegate? strongHandler, DependentHandle dependent, WeakGCHandle<object> weak)
    {
        Kind = kind;
        _strongHandler = strongHandler;
        _dependent = dependent;
        _weak = weak;
    }

    /// <summary>
    /// Test seam: called by a raise between its decision to invoke a <c>Subscribe</c> handler (the gate let it through)
    /// and the call. One static load per owner-bound invocation; <see langword="null"/> outside tests.
    /// </summary>
    internal static Action<WeakHandlerEntry>? BeforeCallHook { get; set; }

    /// <summary>Gets the weak handle (to the delegate for <see cref="EntryKind.WeakTarget"/>, to the owner or handler otherwise).</summary>
    internal WeakGCHandle<object> WeakHandle => _weak;

    /// <summary>Gets how the entry holds its handler.</summary>
    internal EntryKind Kind { get; }

    /// <summary>Gets a value indicating whether the entry was unsubscribed (disposed token).</summary>
    internal bool IsRemoved => _gate.IsClosed;

    /// <summary>Gets a value indicating whether the entry holds something weakly (needs purging when it dies).</summary>
    internal bool IsWeak => Kind != EntryKind.Strong;

    /// <summary>Gets the number of invocations in progress (tests).</summary>
    internal long RunningCount => _gate.RunningCount;

    /// <summary>Gets a value indicating whether the handler can still run (not removed, target or owner alive).</summary>
    internal bool IsAlive => TryGet(out _, out _);

    /// <summary>Gets a value indicating whether the entry can be dropped from the list (removed or dead).</summary>
    internal bool IsDead => !IsAlive;

    /// <summary>Gets the handler if alive (for <c>Remove</c> matching), without the owner.</summary>
    internal Delegate? HandlerOrNull => TryGet(out _, out var handler) ? handler : null;

    internal static WeakHandlerEntry ForStrong(Delegate handler) =>
        new(EntryKind.Strong, handler, default, default);

    internal static WeakHandlerEntry ForWeakTarget(object target, Delegate handler) =>
        new(EntryKind.WeakTarget, null, new DependentHandle(target, handler), new WeakGCHandle<object>(handler));

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
            return ForStrong(handler);
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

        return ForWeakTarget(target!, handler);
    }

    internal static WeakHandlerEntry ForOwner(object owner, Delegate handler) =>
        HandlerTargets.CanCapture(handler)
            ? new(EntryKind.OwnerBoundHandler, null, new DependentHandle(owner, handler), new WeakGCHandle<object>(handler))
            : new(EntryKind.OwnerStrongHandler, handler, default, new WeakGCHandle<object>(owner));

    /// <summary>
    /// Reads the handler and, for owner-bound kinds, the owner, without entering the gate (counts, matching, purging).
    /// Returns <see langword="false"/> when the entry was removed or its target/owner was collected. Call it only under
    /// the list's lock or from a raise counted by the list: nothing else keeps the handles from being freed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryGet(out object? owner, [NotNullWhen(true)] out Delegate? handler)
    {
        Debug.Assert(!_freed, "an entry's handles are freed only once no raise and no lock holder can read them");
        owner = null;
        handler = null;
        switch (Kind)
        {
            case EntryKind.Strong:
                handler = _strongHandler!;
                return true;
            case EntryKind.WeakTarget:
                if (_weak.TryGetTarget(out var weakHandler))
                {
                    handler = Unsafe.As<Delegate>(weakHandler);
                    return true;
                }

                return false;
            case EntryKind.OwnerStrongHandler:
                if (!_gate.IsClosed && _weak.TryGetTarget(out owner))
                {
                    handler = _strongHandler!;
                    return true;
                }

                owner = null;
                return false;
            default:
                // Read the owner first: once it is in a local, the ephemeron keeps the handler alive.
                owner = _gate.IsClosed ? null : _dependent.Target;
                if (owner is not null && _weak.TryGetTarget(out var boundHandler))
                {
                    handler = Unsafe.As<Delegate>(boundHandler);
                    return true;
                }

                owner = null;
                return false;
        }
    }

    /// <summary>
    /// For a raise (which must be counted by the list, see <see cref="WeakHandlerList.EnterRaise"/>): reads the
    /// handler (and owner) and, for a <c>Subscribe</c> entry, commits to the invocation through the gate; call
    /// <see cref="EndInvoke"/> after the handler returns. <see langword="false"/> when removed or dead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryBeginInvoke(out object? owner, [NotNullWhen(true)] out Delegate? handler)
    {
        if (!TryGet(out owner, out handler))
        {
            return false;
        }

        if (Kind <= EntryKind.WeakTarget)
        {
            return true;
        }

        // The handles were read under the list's raise count, so the gate only decides whether this invocation
        // starts: one operation that fails once Dispose closed the gate, and counts it as running otherwise.
        if (!_gate.TryBeginRun())
        {
            owner = null;
            handler = null;
            return false;
        }

        BeforeCallHook?.Invoke(this);
        return true;
    }

    /// <summary>Ends an invocation begun by <see cref="TryBeginInvoke"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void EndInvoke()
    {
        if (Kind > EntryKind.WeakTarget)
        {
            _gate.EndRun();
        }
    }

    /// <summary>
    /// Marks a <c>Subscribe</c> entry removed: once this returns no invocation starts, even from a raise iterating an
    /// older snapshot. Never waits (a raise commits to an invocation in one operation).
    /// </summary>
    /// <returns><see langword="true"/> for the call that removed it.</returns>
    internal bool MarkRemoved() => _gate.Close();

    /// <summary>Gets a value indicating whether the list dropped the entry from its snapshot (its handles may be freed).</summary>
    internal bool IsDropped => Volatile.Read(ref _dropped);

    /// <summary>Marks the entry dropped from the list's snapshot; under the list's lock, before its handles may be freed.</summary>
    internal void MarkDropped() => Volatile.Write(ref _dropped, true);

    /// <summary>Gets a value indicating whether the handles were freed (tests; written under the list's lock).</summary>
    internal bool IsFreed => Volatile.Read(ref _freed);

    /// <summary>
    /// Frees the entry's GC handles, once. The caller guarantees that nothing can read them any more: the list, under
    /// its lock, for an entry out of the snapshot with no raise in progress; or the creator of an entry never published.
    /// </summary>
    internal void FreeHandles()
    {
        if (_freed)
        {
            return;
        }

        Volatile.Write(ref _freed, true);
        if (_dependent.IsAllocated)
        {
            _dependent.Dispose();
        }

        if (_weak.IsAllocated)
        {
            _weak.Dispose();
        }
    }

    /// <summary>Completes when no invocation of a removed entry is running.</summary>
    internal ValueTask WhenIdleAsync() => _gate.WhenIdleAsync();

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

        /// <summary><c>Add</c> mode: target weak, delegate alive exactly as long as the target.</summary>
        WeakTarget,

        /// <summary><c>Subscribe</c> mode, handler captures nothing: owner weak, handler strong.</summary>
        OwnerStrongHandler,

        /// <summary><c>Subscribe</c> mode, capturing handler: owner → handler ephemeron.</summary>
        OwnerBoundHandler,
    }
}
