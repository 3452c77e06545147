using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>
/// A token whose source calls back through it (a forwarder, a registration state, an observer), so that it can decide
/// per invocation whether the user's callback may still start: after <see cref="Subscription.Dispose"/> returns, none
/// starts; <see cref="Subscription.DisposeAsync"/> waits for the running ones (see <see cref="InvocationGate"/>).
/// </summary>
/// <remarks>Slot0 is the token itself; derived tokens keep what they need in their own fields.</remarks>
internal abstract class GatedSubscription : Subscription
{
    private InvocationGate _gate;

    private protected GatedSubscription(Detacher detacher, object? slot1, object? slot2)
        : base(detacher, slot1, slot2)
    {
    }

    /// <summary>Closes the gate: from now on no callback starts. Waits only for callers between their check and their call.</summary>
    internal void CloseGate() => _ = _gate.Close();

    /// <summary>Completes when no callback admitted by the gate is running.</summary>
    internal ValueTask WhenIdleAsync() => _gate.WhenIdleAsync();

    /// <summary>Undoes the attachment at the source (after the gate is closed).</summary>
    internal virtual void DetachSource()
    {
    }

    /// <summary>Admits one callback unless disposed; on <see langword="true"/>, call <see cref="Leave"/> when it ends.</summary>
    private protected bool TryEnter() => _gate.TryBeginRun();

    private protected void Leave() => _gate.EndRun();
}
