using System.Diagnostics.CodeAnalysis;
using System.Runtime;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SafeRefs.Subscriptions.Internal;

namespace SafeRefs.Internal;

/// <summary>
/// One registered handler of a weak event: how its target or owner is held and how to reach its delegate.
/// Immutable after construction except for <see cref="IsRemoved"/>; shared by every snapshot that contains it.
/// </summary>
/// <remarks>
/// <para>Kinds: <see cref="EntryKind.Strong"/> holds a delegate whose target is rooted anyway (static method or
/// the compiler's non-capturing-lambda singleton). <see cref="EntryKind.WeakTarget"/> (<c>Add</c>) holds a
/// <see cref="DependentHandle"/> target → delegate, so the delegate lives exactly as long as its target, plus a
/// short weak handle to the delegate: a raise reads one handle (a plain memory read) and invokes the original
/// delegate; no reflection. <see cref="EntryKind.OwnerStrongHandler"/> (<c>Subscribe</c> with a handler that
/// captures nothing) holds the owner weakly and the handler strongly. <see cref="EntryKind.OwnerBoundHandler"/>
/// (<c>Subscribe</c> with a capturing handler) holds a <see cref="DependentHandle"/> owner → handler (an
/// ephemeron) plus a short weak handle to the handler.</para>
/// <para>GC handles have no finalizer of their own: the <see cref="GcHandleBlock"/> this entry references owns and
/// frees them once no entry of the block is reachable, so a raise iterating an old snapshot can never read a freed
/// handle.</para>
/// </remarks>
internal sealed class WeakHandlerEntry
{
    private readonly Delegate? _strongHandler;
    private readonly GcHandleBlock? _handles; // keeps the block, and so this entry's handles, alive while the entry is reachable
    private DependentHandle _dependent;
    private WeakGCHandle<object> _weak;
    private int _removed;
    private ListenerCount? _budgetCount;
    private byte _counted;

    private WeakHandlerEntry(EntryKind kind, Delegate? strongHandler, GcHandleBlock? handles, DependentHandle dependent, WeakGCHandle<object> weak)
    {
        Kind = kind;
        _strongHandler = strongHandler;
        _handles = handles;
        _dependent = dependent;
        _weak = weak;
    }

    /// <summary>Gets the weak handle (to the delegate for <see cref="EntryKind.WeakTarget"/>, to the owner or handler otherwise).</summary>
    internal WeakGCHandle<object> WeakHandle => _weak;

    /// <summary>Gets how the entry holds its handler.</summary>
    internal EntryKind Kind { get; }

    /// <summary>Gets a value indicating whether the entry was unsubscribed (disposed token or <c>Remove</c>).</summary>
    internal bool IsRemoved => Volatile.Read(ref _removed) != 0;

    /// <summary>Gets a value indicating whether the entry holds something weakly (needs purging when it dies).</summary>
    internal bool IsWeak => Kind != EntryKind.Strong;

    internal static WeakHandlerEntry ForStrong(Delegate handler) =>
        new(EntryKind.Strong, handler, null, default, default);

    internal static WeakHandlerEntry ForWeakTarget(object target, Delegate handler)
    {
        var block = GcHandleBlock.Claim(out var slot);
        var dependent = block.AllocDependent(slot, target, handler);
        return new(EntryKind.WeakTarget, null, block, dependent, block.AllocWeak(slot, handler));
    }

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

    internal static WeakHandlerEntry ForOwner(object owner, Delegate handler)
    {
        var block = GcHandleBlock.Claim(out var slot);
        if (!HandlerTargets.CanCapture(handler))
        {
            return new(EntryKind.OwnerStrongHandler, handler, block, default, block.AllocWeak(slot, owner));
        }

        var dependent = block.AllocDependent(slot, owner, handler);
        return new(EntryKind.OwnerBoundHandler, null, block, dependent, block.AllocWeak(slot, handler));
    }

    /// <summary>
    /// Reads the handler and, for owner-bound kinds, the owner. Returns <see langword="false"/> when the entry was
    /// removed or its target/owner was collected.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryGet(out object? owner, [NotNullWhen(true)] out Delegate? handler)
    {
        owner = null;
        handler = null;
        if (Volatile.Read(ref _removed) != 0)
        {
            return false;
        }

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
                if (_weak.TryGetTarget(out owner))
                {
                    handler = _strongHandler!;
                    return true;
                }

                return false;
            default:
                // Read the owner first: once it is in a local, the ephemeron keeps the handler alive.
                owner = _dependent.Target;
                if (owner is not null && _weak.TryGetTarget(out var boundHandler))
                {
                    handler = Unsafe.As<Delegate>(boundHandler);
                    return true;
                }

                owner = null;
                return false;
        }
    }

    /// <summary>Gets a value indicating whether the handler can still run (not removed, target or owner alive).</summary>
    internal bool IsAlive => TryGet(out _, out _);

    /// <summary>Gets a value indicating whether the entry can be dropped from the list (removed or dead).</summary>
    internal bool IsDead => !IsAlive;

    /// <summary>Gets the handler if alive (for <c>Remove</c> matching), without the owner.</summary>
    internal Delegate? HandlerOrNull => TryGet(out _, out var handler) ? handler : null;

    /// <summary>
    /// Marks the entry removed: no raise invokes it from now on, even one iterating an older snapshot. Releases the
    /// owner-bound handler at once so its captures do not wait for the entry's finalizer.
    /// </summary>
    /// <returns><see langword="true"/> for the call that removed it.</returns>
    internal bool MarkRemoved()
    {
        if (Interlocked.Exchange(ref _removed, 1) != 0)
        {
            return false;
        }

        // Only the single winner of the exchange gets here, and the entry is reachable (not finalized).
        if (Kind is EntryKind.OwnerBoundHandler or EntryKind.WeakTarget)
        {
            _dependent.Dependent = null;
        }

        return true;
    }

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

    /// <summary>Marks the entry as counted in <c>saferefs.weak_events.handlers</c> (before it is published).</summary>
    internal void MarkCounted() => _counted = 1;

    /// <summary>True exactly once for a counted entry: the caller records the matching -1.</summary>
    internal bool TryUncount() => Volatile.Read(ref _counted) != 0 && Interlocked.Exchange(ref _counted, 0) != 0;

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
