
namespace SafeRefs.Events.Internal;

/// <summary>
/// The raise loop of the weak events when a handler's exception must be observed (an exception handler in the
/// options, or <see cref="HandlerExceptionMode.ContinueAndAggregate"/>), and the tail every raise ends with. The plain
/// propagating loop stays in each event: it is the hot path and needs no <c>try</c>/<c>catch</c>.
/// </summary>
internal static class GuardedRaise
{
    /// <summary>Invokes every live entry of <paramref name="snapshot"/> in order, applying <paramref name="policy"/> to each failure.</summary>
    internal static void Run<TInvoker>(WeakHandlerList list, SnapshotItem[] snapshot, in RaiseExceptionPolicy policy, ref TInvoker invoker)
        where TInvoker : struct, IEntryInvoker
    {
        var dead = 0;
        List<Exception>? errors = null;
        RaiseSlot? slot = null;
        try
        {
            foreach (var item in snapshot)
            {
                if (!item.Entry.TryBeginInvoke(ref slot, out var owner, out var handler))
                {
                    dead++;
                    continue;
                }

                try
                {
                    invoker.Invoke(owner, handler);
                }
#pragma warning disable CA1031 // Handled, collected for the aggregate, or rethrown: the policy decides.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    if (!policy.TryAbsorb(ex, ref errors))
                    {
                        throw;
                    }
                }
            }
        }
        finally
        {
            slot?.Release();
        }

        Finish(list, dead, snapshot.Length, errors);
    }

    /// <summary>The end of a raise: drops dead entries if it met many, then throws the collected failures, if any.</summary>
    internal static void Finish(WeakHandlerList list, int dead, int snapshotLength, List<Exception>? errors)
    {
        if (dead != 0)
        {
            list.OnDeadSeen(dead, snapshotLength);
        }

        RaiseExceptionPolicy.ThrowIfAny(errors);
    }
}
