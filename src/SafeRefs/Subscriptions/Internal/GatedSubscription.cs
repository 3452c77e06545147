using SafeRefs.Diagnostics.Internal;
using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>
/// A token whose source calls back through it (a forwarder, a registration state, an observer), so that it can decide
/// per invocation whether the user's callback may still start: after <see cref="Subscription.Dispose"/> returns, none
/// starts; <see cref="Subscription.DisposeAsync"/> waits for the running ones (see <see cref="InvocationGate"/>).
/// </summary>
/// <remarks>
/// The gate is also the claim of the detach and the disposed flag: the one <c>Dispose</c> that closes it detaches, so
/// disposing costs one interlocked operation. Derived tokens keep what they need to detach in their own fields.
/// </remarks>
internal abstract class GatedSubscription : Subscription
{
    private InvocationGate _gate;

#if DEBUG
    /// <summary>
    /// Test seam: called by an invocation that has read the user's callback, just before the gate decides whether it
    /// starts (the window the closed gate guards). Debug builds only: its static load per invocation is part of the hot
    /// path.
    /// </summary>
    internal static Action<GatedSubscription>? BeforeEnterHook { get; set; }
#endif

    /// <summary>Gets a value indicating whether the token was disposed (its gate closed).</summary>
    private protected sealed override bool IsDisposed => _gate.IsClosed;

    /// <summary>Closes the gate (never waits); the call that closed it detaches.</summary>
    private protected sealed override void Detach()
    {
        if (!_gate.Close())
        {
            return;
        }

        Metrics.SubscriptionInstruments.Detached();
        try
        {
            DetachSource();
        }
        finally
        {
            ReleaseCallback();
        }
    }

    /// <summary>
    /// Closes the gate of a token whose attach threw and drops the callback: a forwarder the source published anyway
    /// starts nothing, and no token exists that could detach it.
    /// </summary>
    internal void Abandon()
    {
        if (_gate.Close())
        {
            ReleaseCallback();
        }
    }

    /// <summary>Completes when no callback admitted by the gate is running.</summary>
    private protected sealed override ValueTask WhenCallbacksIdleAsync() => _gate.WhenIdleAsync();

    /// <summary>Undoes the attachment at the source (after the gate is closed); may throw (a <c>remove</c> accessor).</summary>
    private protected abstract void DetachSource();

    /// <summary>
    /// Drops the user's callback and the source's side once the gate is closed and the detach ran (or failed): a disposed
    /// token holds no handler nor source, even while the source still holds its forwarder (a raise's copy of the event's
    /// delegate, a remove accessor that failed). Callers admitted by the gate read what this clears before entering.
    /// </summary>
    private protected abstract void ReleaseCallback();

    /// <summary>Admits one callback unless disposed; on <see langword="true"/>, call <see cref="Leave"/> when it ends.</summary>
    private protected bool TryEnter()
    {
#if DEBUG
        BeforeEnterHook?.Invoke(this);
#endif
        return _gate.TryEnter();
    }

    private protected void Leave() => _gate.Exit();
}
