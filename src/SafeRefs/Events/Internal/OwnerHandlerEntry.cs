using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using SafeRefs.Internal;

namespace SafeRefs.Events.Internal;

/// <summary>
/// A <c>Subscribe</c> entry: a <see cref="WeakLinkCore"/>, the library's one weak-link mechanism, holds the owner
/// weakly and the handler exactly as long as the owner (or, for a handler that cannot capture, the owner weakly beside
/// the handler). Closed by its token's <c>Dispose</c> or by the list dropping it dead, and freed by its closer once no
/// raise is between its check and its call (<see cref="RaiseSlot"/>: a raise announces each such entry in its slot,
/// then checks the closed flag).
/// </summary>
internal sealed class OwnerHandlerEntry : WeakHandlerEntry
{
    private WeakLinkCore _core;
    private RaiseSlots? _slots; // once added to a list
    private long _id;

    /// <summary>Initializes a new instance of the <see cref="OwnerHandlerEntry"/> class.</summary>
    internal OwnerHandlerEntry(object owner, Delegate handler)
        : base(isOwner: true) => _core.Initialize(owner, handler, weak: null);

#if DEBUG
    /// <summary>
    /// Test seam: called by a raise that found the entry open, with <see langword="true"/> before it announces the call
    /// (its disposer waits) and <see langword="false"/> after (its disposer no longer waits). Debug builds only: its
    /// static load per owner-bound invocation is a measurable part of a raise.
    /// </summary>
    internal static Action<OwnerHandlerEntry, bool>? CallHook { get; set; }
#endif

    /// <summary>Gets the number of invocations in progress (tests).</summary>
    internal long RunningCount => _slots?.CallingCount(_id) ?? 0;

    /// <inheritdoc/>
    /// <remarks>Under the list's lock, which the entry's closer holds to free the handles.</remarks>
    internal override bool IsAlive => !IsClosed && _core.Owner is not null;

    /// <inheritdoc/>
    internal override bool IsFreed => _core.IsFreed;

    /// <summary>
    /// For a raise: announces the entry in the raise's slot (taken at the first such entry; the raise releases it at
    /// its end), checks that it is open and reads the owner and the handler. The slot then says "calling" until the
    /// raise announces another entry, meets a handler of another kind, or ends. <see langword="false"/> when closed or
    /// dead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryBeginCall(ref RaiseSlot? slot, out object? owner, [NotNullWhen(true)] out Delegate? handler)
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

        if (!IsClosed && _core.TryRead(out var readOwner, out var readHandler))
        {
#if DEBUG
            var hook = CallHook;
            hook?.Invoke(this, true);
#endif
            slot.Call(id);
#if DEBUG
            hook?.Invoke(this, false);
#endif
            owner = readOwner;
            handler = readHandler;
            return true;
        }

        slot.Skip();
        owner = null;
        handler = null;
        return false;
    }

    /// <summary>For the list, under its lock, before it publishes the entry: the raise slots and the entry's id in them.</summary>
    internal void Attach(RaiseSlots slots, long id)
    {
        _slots = slots;
        _id = id;
    }

    /// <summary>
    /// For the closer, under the list's lock (other readers of the handles hold it): <see cref="WaitOutChecks"/>, then
    /// frees the handles.
    /// </summary>
    internal void Free()
    {
        WaitOutChecks();
        _core.FreeUngated();
    }

    /// <summary>
    /// For every disposer of the closed entry, also one that lost its close: waits out a raise between its check of the
    /// entry and its call (never for a running handler), so that no invocation starts afterwards.
    /// </summary>
    internal void WaitOutChecks() => _slots?.WaitOutChecks(this, _id);

    /// <summary>
    /// Closes and frees the entry unless its token's <c>Dispose</c> closed it (that call frees it).
    /// </summary>
    /// <returns><see langword="true"/> when this call let go of the handles.</returns>
    internal override bool Release()
    {
        if (!Close())
        {
            return false;
        }

        Free();
        return true;
    }

    /// <summary>Completes when no invocation of the closed entry is running.</summary>
    internal ValueTask WhenIdleAsync() => _slots?.WhenNotCallingAsync(this, _id) ?? default;
}
