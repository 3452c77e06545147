namespace SafeRefs.Internal;

/// <summary>
/// Undoes one attachment on behalf of a <see cref="SafeRefs.Subscriptions.Subscription"/>. Each mechanism
/// (plain event, weak event, cancellation, change token, timer…) supplies one; stateless mechanisms
/// share a singleton so that a subscription costs one allocation.
/// </summary>
/// <remarks>
/// The three detach arguments (arg0–arg2) are whatever the mechanism stored in the subscription (for a plain event: source,
/// remove accessor and handler). <see cref="Detach"/> is called at most once per subscription.
/// </remarks>
internal abstract class Detacher
{
    private readonly Detacher? _original;
    private Detacher? _spent;

    /// <summary>Initializes a new instance of the <see cref="Detacher"/> class.</summary>
    protected Detacher()
    {
    }

    private Detacher(Detacher original) => _original = original;

    /// <summary>Detaches; called exactly once, on the thread that disposed the subscription.</summary>
    public abstract void Detach(object? arg0, object? arg1, object? arg2);

    /// <summary>
    /// Completes when a callback of this subscription that was running when it was detached has finished.
    /// Mechanisms that cannot observe their callbacks (a plain .NET event) complete at once.
    /// </summary>
    public virtual ValueTask WhenCallbacksIdleAsync(object? arg0, object? arg1, object? arg2) => default;

    /// <summary>Gets a value indicating whether this is the spent form of a detacher (the token was disposed).</summary>
    internal bool IsSpent => _original is not null;

    /// <summary>Gets the detacher this one is the spent form of, or this one.</summary>
    internal Detacher Original => _original ?? this;

    /// <summary>
    /// Gets what a disposed token keeps instead of this detacher: it detaches nothing, and a later
    /// <c>DisposeAsync</c> still waits for callbacks through <see cref="Original"/>. One per detacher (they are
    /// singletons), created on first use.
    /// </summary>
    internal Detacher Spent => _spent ?? CreateSpent();

    private Detacher CreateSpent()
    {
        _ = Interlocked.CompareExchange(ref _spent, new SpentDetacher(this), null);
        return _spent!;
    }

    /// <summary>The spent form of a detacher.</summary>
    private sealed class SpentDetacher(Detacher original) : Detacher(original)
    {
        public override void Detach(object? arg0, object? arg1, object? arg2)
        {
        }
    }
}
