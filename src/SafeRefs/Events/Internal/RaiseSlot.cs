using System.Runtime.CompilerServices;

namespace SafeRefs.Events.Internal;

/// <summary>
/// One raise in progress over a weak handler list, as the disposers of its <c>Subscribe</c> entries see it: the entry
/// it is checking (between the entry's closed check and the call) or calling. Taken by one raise at a time. Serves a
/// LIST raise, which calls many handlers in a row; one subscription's own callback (weak links, strong tokens) is
/// guarded by <see cref="SafeRefs.Internal.InvocationGate"/> instead.
/// </summary>
/// <remarks>
/// <para>"No invocation starts after <c>Dispose</c> returns" without a lock on the raise needs, per handler, a full
/// fence between the raiser's announcement and its read of the entry's closed flag, and one between the disposer's
/// close and its read of the announcement: then one of the two sees the other. The raiser announces an entry with one
/// interlocked operation on its own slot, which also ends its invocation of the entry before (and, for the raise's first
/// entry, takes the slot); the call (after the check) and a refusal are plain stores. So a raise pays one interlocked
/// operation per handler, on a line no other raise writes, plus one to give the slot back, and an entry's disposer
/// waits only for a raiser that is checking it. An <see cref="SafeRefs.Internal.InvocationGate"/> pair on each handler would cost two.</para>
/// <para>A waiter (<c>DisposeAsync</c>) installs a completion with an interlocked operation and reads the state again;
/// the raiser reads the completion after each interlocked change: one of the two sees the other, so a change is never
/// missed.</para>
/// </remarks>
internal sealed class RaiseSlot
{
    private const long Free = -1; // no raise holds the slot
    private const long Held = 0; // a raise holds it and calls no Subscribe entry

    private long _state = Held; // born taken; entry id (≥ 1) << 1: checking that entry; (id << 1) | 1: calling it
    private TaskCompletionSource? _changed;

    /// <summary>
    /// Takes the slot for a raise that checks entry <paramref name="id"/> first, in one compare-and-swap;
    /// <see langword="false"/> when another raise holds it.
    /// </summary>
    internal bool TryTake(long id) => Volatile.Read(ref _state) == Free && Interlocked.CompareExchange(ref _state, id << 1, Free) == Free;

    /// <summary>Announces that the raise checks entry <paramref name="id"/> (and is done with the one before).</summary>
    internal void Check(long id)
    {
        Interlocked.Exchange(ref _state, id << 1);
        WakeIfWaited();
    }

    /// <summary>The checked entry is open and its handles read: the raise calls it (a plain store).</summary>
    internal void Call(long id) => Volatile.Write(ref _state, (id << 1) | 1);

    /// <summary>The checked entry is closed or dead: nothing is called (a plain store).</summary>
    internal void Skip() => Volatile.Write(ref _state, Held);

    /// <summary>Ends the invocation of a <c>Subscribe</c> entry before a handler of another kind, or at the raise's end.</summary>
    internal void Idle()
    {
        if (_state != Held)
        {
            Interlocked.Exchange(ref _state, Held);
            WakeIfWaited();
        }
    }

    /// <summary>Ends the raise: the slot calls nothing and is free for the next raise.</summary>
    internal void Release()
    {
        if (_state == Held)
        {
            // Calling nothing: no waiter to wake, and no other thread writes a taken slot.
            Volatile.Write(ref _state, Free);
            return;
        }

        Interlocked.Exchange(ref _state, Free);
        WakeIfWaited();
    }

    /// <summary>Gets a value indicating whether the raise is between its check of entry <paramref name="id"/> and the call.</summary>
    internal bool IsChecking(long id) => Volatile.Read(ref _state) == id << 1;

    /// <summary>Gets a value indicating whether the raise calls (or runs) entry <paramref name="id"/>'s handler.</summary>
    internal bool IsCalling(long id) => Volatile.Read(ref _state) == ((id << 1) | 1);

    /// <summary>Completes at the slot's next change; read the state again after this call before awaiting it.</summary>
    internal Task NextChange()
    {
        var fresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return (Interlocked.CompareExchange(ref _changed, fresh, null) ?? fresh).Task;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] // once per handler: a call would cost more than its test
    private void WakeIfWaited()
    {
        if (Volatile.Read(ref _changed) is not null)
        {
            Interlocked.Exchange(ref _changed, null)?.TrySetResult();
        }
    }
}
