namespace SafeRefs.Events.Internal;

/// <summary>
/// The <see cref="RaiseSlot"/>s of one weak handler list: as many as raises ever ran at once (nested or on other
/// threads). Referenced by the list and by its <c>Subscribe</c> entries, so that a disposed token can still wait for
/// its handler without keeping the list alive. The "no start after <c>Dispose</c>" of a LIST raise; one
/// subscription's own callback uses <see cref="SafeRefs.Internal.InvocationGate"/>.
/// </summary>
internal sealed class RaiseSlots
{
    private readonly Lock _lock = new();
    private RaiseSlot[] _slots = [];

    /// <summary>
    /// Test seam: called by a disposer that finds a raise checking its entry, before it waits for the call;
    /// <see langword="null"/> outside tests.
    /// </summary>
    internal static Action<OwnerHandlerEntry>? WaitHook { get; set; }

    /// <summary>
    /// Test seam: called by a waiter (<c>DisposeAsync</c>) that found a raise calling its entry, before it publishes
    /// its wait on the slot; <see langword="null"/> outside tests.
    /// </summary>
    internal static Action<OwnerHandlerEntry>? BeforeWaitHook { get; set; }

    /// <summary>Takes a free slot for a raise, or adds one, announcing that it checks entry <paramref name="id"/> first.</summary>
    internal RaiseSlot Take(long id)
    {
        foreach (var slot in Volatile.Read(ref _slots))
        {
            if (slot.TryTake(id))
            {
                return slot;
            }
        }

        RaiseSlot added;
        lock (_lock)
        {
            added = new RaiseSlot(); // born taken
            Volatile.Write(ref _slots, [.. _slots, added]);
        }

        // Published first: the announcement's full fence then orders the disposers' view of the new slot too.
        added.Check(id);
        return added;
    }

    /// <summary>
    /// For the disposer of a closed entry: waits while a raise is between its check of the entry and the call (a few
    /// instructions), so that afterwards no raise reads the entry's handles and none starts its handler.
    /// </summary>
    internal void WaitOutChecks(OwnerHandlerEntry entry, long id)
    {
        foreach (var slot in Volatile.Read(ref _slots))
        {
            if (slot.IsChecking(id))
            {
                WaitHook?.Invoke(entry);
                var spin = default(SpinWait);
                while (slot.IsChecking(id))
                {
                    spin.SpinOnce();
                }
            }
        }
    }

    /// <summary>Gets the number of raises calling entry <paramref name="id"/>'s handler.</summary>
    internal int CallingCount(long id)
    {
        var count = 0;
        foreach (var slot in Volatile.Read(ref _slots))
        {
            count += slot.IsCalling(id) ? 1 : 0;
        }

        return count;
    }

    /// <summary>Completes when no raise calls <paramref name="entry"/>'s handler (id <paramref name="id"/>, after its close).</summary>
    internal async ValueTask WhenNotCallingAsync(OwnerHandlerEntry entry, long id)
    {
        foreach (var slot in Volatile.Read(ref _slots))
        {
            while (slot.IsCalling(id))
            {
                BeforeWaitHook?.Invoke(entry);
                var changed = slot.NextChange();
                if (!slot.IsCalling(id))
                {
                    break;
                }

                await changed.ConfigureAwait(false);
            }
        }
    }
}
