using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using SafeRefs.Internal;

namespace SafeRefs.Events.Internal;

/// <summary>
/// One registered handler of a weak event: how its target or owner is held and how to reach its delegate.
/// Shared by every snapshot that contains it.
/// </summary>
/// <remarks>
/// Three kinds, each carrying only what it uses: <see cref="StrongHandlerEntry"/> (<c>Add</c> of a delegate whose
/// target is rooted anyway), <see cref="WeakTargetHandlerEntry"/> (<c>Add</c>: target → delegate) and
/// <see cref="OwnerHandlerEntry"/> (<c>Subscribe</c>: owner → handler, closed by its token).
/// </remarks>
internal abstract class WeakHandlerEntry
{
    private readonly bool _isOwner; // read by every raise: a field load, cheaper here than a type check
    private int _closed;
    private ListenerCount? _budgetCount;

    /// <summary>Initializes a new instance of the <see cref="WeakHandlerEntry"/> class.</summary>
    /// <param name="isOwner">Whether this is an <see cref="OwnerHandlerEntry"/>.</param>
    private protected WeakHandlerEntry(bool isOwner) => _isOwner = isOwner;

    /// <summary>Gets a value indicating whether the entry is an <c>Add</c> one (<see cref="Delegate.Remove"/> matching).</summary>
    internal bool IsAdded => !_isOwner;

    /// <summary>Gets a value indicating whether the handler can still run (not removed, target or owner alive).</summary>
    internal abstract bool IsAlive { get; }

    /// <summary>Gets the handler of a live <c>Add</c> entry (for <c>Remove</c> matching); <see langword="null"/> for a <c>Subscribe</c> entry.</summary>
    internal virtual Delegate? AddedHandlerOrNull => null;

    /// <summary>
    /// Gets a value indicating whether the entry was closed: removed, disposed or dropped from the list, whatever its
    /// kind. A raise that reaches a closed entry does not call it.
    /// </summary>
    internal bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>Gets a value indicating whether the handles were freed, or never allocated (tests, debug checks).</summary>
    internal abstract bool IsFreed { get; }

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
            return new StrongHandlerEntry(handler);
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

        return new WeakTargetHandlerEntry(target!, handler);
    }

    /// <summary>The entry of a <c>Subscribe</c>: the owner weakly, the handler (capturing or not) exactly as long as the owner.</summary>
    internal static OwnerHandlerEntry ForOwner(object owner, Delegate handler) => new(owner, handler);

    /// <summary>
    /// For a raise: reads the handler (and, for a <c>Subscribe</c> entry, the owner, announced in the raise's slot; see
    /// <see cref="OwnerHandlerEntry.TryBeginCall"/>). <see langword="false"/> when removed, closed or dead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryBeginInvoke(ref RaiseSlot? slot, out object? owner, [NotNullWhen(true)] out Delegate? handler)
    {
        if (_isOwner)
        {
            // Constants, not the call's result: the inlined raise then branches on the entry's own checks.
            if (Unsafe.As<OwnerHandlerEntry>(this).TryBeginCall(ref slot, out owner, out handler))
            {
                return true;
            }

            return false;
        }

        slot?.Idle();
        owner = null;
        if (this is StrongHandlerEntry strong)
        {
            handler = strong.Handler;
            return true;
        }

        return ((WeakTargetHandlerEntry)this).Added.TryGetTarget(out handler);
    }

    /// <summary>
    /// Closes the entry (see <see cref="IsClosed"/>). One interlocked operation. A <c>Subscribe</c> entry's closer then
    /// calls <see cref="OwnerHandlerEntry.Free"/>, after which no invocation starts, even from a raise iterating an
    /// older snapshot.
    /// </summary>
    /// <returns><see langword="true"/> for the call that closed it.</returns>
    internal bool Close() => Interlocked.Exchange(ref _closed, 1) == 0;

    /// <summary>
    /// Lets go of the entry's handles, once, for whoever detaches it (the list under its lock, or the creator of an entry
    /// never published).
    /// </summary>
    /// <returns><see langword="true"/> when this call let go of weak handles.</returns>
    internal abstract bool Release();

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
}
