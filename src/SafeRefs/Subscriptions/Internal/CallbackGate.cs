namespace SafeRefs.Subscriptions.Internal;

/// <summary>
/// Decides, per invocation, whether a subscription's callback may still start: after <see cref="Close"/> returns,
/// <see cref="TryEnter"/> admits no one, and every caller it admitted before has already been counted as running.
/// <see cref="Close"/> never waits for a running callback, only for callers between their check and their call
/// (a few instructions, no user code); <see cref="WhenIdleAsync"/> waits for the running ones.
/// </summary>
/// <remarks>
/// A mutable struct: keep it in a non-readonly field of the subscription it guards and call it in place, never copy it.
/// Protocol: <c>_entering</c> counts callers inside <see cref="TryEnter"/> plus the <see cref="ClosedFlag"/> bit, so a
/// caller's check and <see cref="Close"/>'s flag are ordered by one atomic operation each. A caller moves itself to
/// <c>_running</c> before it leaves <c>_entering</c>, so <see cref="Close"/>, once <c>_entering</c> has drained, sees
/// every admitted caller in <c>_running</c>. A callback that disposes its own subscription is already in
/// <c>_running</c>, so <see cref="Close"/> from inside it does not wait for itself.
/// </remarks>
internal struct CallbackGate
{
    private const int ClosedFlag = 1 << 30;

    private int _entering;
    private int _running;
    private TaskCompletionSource? _idle;

    /// <summary>Gets a value indicating whether <see cref="Close"/> has started.</summary>
    public readonly bool IsClosed => (Volatile.Read(in _entering) & ClosedFlag) != 0;

    /// <summary>Admits one invocation unless the gate is closed; on <see langword="true"/>, call <see cref="Exit"/> when it ends.</summary>
    /// <returns><see langword="true"/> if the callback may start.</returns>
    public bool TryEnter()
    {
        if ((Interlocked.Increment(ref _entering) & ClosedFlag) != 0)
        {
            Interlocked.Decrement(ref _entering);
            return false;
        }

        Interlocked.Increment(ref _running);
        Interlocked.Decrement(ref _entering);
        return true;
    }

    /// <summary>Ends an invocation admitted by <see cref="TryEnter"/>.</summary>
    public void Exit()
    {
        if (Interlocked.Decrement(ref _running) == 0 && IsClosed)
        {
            Interlocked.Exchange(ref _idle, null)?.TrySetResult();
        }
    }

    /// <summary>
    /// Closes the gate. When it returns, no invocation starts any more; it waits only for callers that passed their
    /// check but have not yet counted themselves as running. Idempotent.
    /// </summary>
    public void Close()
    {
        Interlocked.Or(ref _entering, ClosedFlag);
        var spinner = default(SpinWait);
        while ((Volatile.Read(ref _entering) & ~ClosedFlag) != 0)
        {
            spinner.SpinOnce();
        }
    }

    /// <summary>Completes when no admitted invocation is running. Call after <see cref="Close"/>.</summary>
    /// <returns>A task that completes when the last running invocation has called <see cref="Exit"/>.</returns>
    public ValueTask WhenIdleAsync()
    {
        if (Volatile.Read(ref _running) == 0)
        {
            return default;
        }

        var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var idle = Interlocked.CompareExchange(ref _idle, created, null) ?? created;

        // The last Exit may have run between the read above and the publication: it found no waiter to complete.
        if (Volatile.Read(ref _running) == 0)
        {
            idle.TrySetResult();
        }

        return new ValueTask(idle.Task);
    }
}
