namespace SafeRefs.Internal;

/// <summary>
/// Undoes one attachment on behalf of a <see cref="Subscriptions.Subscription"/>. Each mechanism
/// (plain event, weak event, cancellation, change token, timer…) supplies one; stateless mechanisms
/// share a singleton so that a subscription costs one allocation.
/// </summary>
/// <remarks>
/// The three slots are whatever the mechanism stored in the subscription (for a plain event: source,
/// remove accessor and handler). <see cref="Detach"/> is called at most once per subscription.
/// </remarks>
internal abstract class Detacher
{
    /// <summary>Detaches; called exactly once, on the thread that disposed the subscription.</summary>
    public abstract void Detach(object? slot0, object? slot1, object? slot2);

    /// <summary>
    /// Completes when a callback of this subscription that was running when it was detached has finished.
    /// Mechanisms that cannot observe their callbacks (a plain .NET event) complete at once.
    /// </summary>
    public virtual ValueTask WhenCallbacksIdleAsync(object? slot0, object? slot1, object? slot2) => default;
}
