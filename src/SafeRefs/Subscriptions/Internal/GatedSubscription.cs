using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>
/// A token whose source calls back through it (a forwarder, a registration state, an observer), so that it can decide
/// per invocation whether the user's callback may still start: after <see cref="Subscription.Dispose"/> returns, none
/// starts; <see cref="Subscription.DisposeAsync"/> waits for the running ones (see <see cref="InvocationGate"/>).
/// </summary>
/// <remarks>
/// The gate is also the claim of the detach: the one <c>Dispose</c> that closes it detaches, so disposing costs one
/// interlocked operation, not a compare-and-swap of the detacher and then the close. Derived tokens keep what they
/// need in their own fields and the base detach arguments; the detacher receives the token itself as arg0.
/// </remarks>
internal abstract class GatedSubscription : Subscription
{
    private InvocationGate _gate;

    private protected GatedSubscription(Detacher detacher, object? arg1, object? arg2)
        : base(detacher, arg1, arg2)
    {
    }

    /// <summary>Completes when no callback admitted by the gate is running.</summary>
    internal ValueTask WhenIdleAsync() => _gate.WhenIdleAsync();

    /// <summary>Undoes the attachment at the source (after the gate is closed).</summary>
    internal virtual void DetachSource()
    {
    }

    /// <summary>Closes the gate (never waits); the call that closed it detaches.</summary>
    private protected sealed override bool TryDetach(out Detacher? detacher)
    {
        if (!_gate.Close())
        {
            detacher = OriginalDetacher;
            return false;
        }

        detacher = MarkDetached();
        try
        {
            detacher.Detach(this, Arg1, Arg2);
        }
        finally
        {
            // Its detacher waits through the token (arg0) alone: what the detach needed goes, with the callback.
            ReleaseDetachArgs();
            ReleaseCallback();
        }

        return true;
    }

    /// <summary>
    /// Drops the user's callback and the source's side once the gate is closed and the detach ran (or failed): a disposed
    /// token holds no handler nor source, even while the source still holds its forwarder (a raise's copy of the event's
    /// delegate, a remove accessor that failed). Callers admitted by the gate read what this clears before entering.
    /// </summary>
    private protected virtual void ReleaseCallback()
    {
    }

    /// <summary>Admits one callback unless disposed; on <see langword="true"/>, call <see cref="Leave"/> when it ends.</summary>
    private protected bool TryEnter() => _gate.TryEnter();

    private protected void Leave() => _gate.Exit();
}
