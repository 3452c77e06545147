using System.ComponentModel;

namespace SafeRefs.Subscriptions;

/// <summary>
/// The gate a forwarder registered through <see cref="EventForwarders.Register{THandler}"/> calls around each invocation
/// of the handler it forwards to. Meant for the forwarders the SafeRefs source generator emits; a hand-written
/// forwarder calls <see cref="TryEnter"/>, invokes the handler it returns, and then calls <see cref="Leave"/> once.
/// </summary>
/// <remarks>
/// Calling <see cref="Leave"/> without a matching successful <see cref="TryEnter"/>, or calling either outside a
/// forwarder the gate was given to, breaks the guarantees of the subscription the gate belongs to.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IEventForwarderGate
{
    /// <summary>Admits one invocation of the handler.</summary>
    /// <param name="state">What to pass to <see cref="Leave"/>.</param>
    /// <returns>The handler to invoke, then call <see cref="Leave"/>; <see langword="null"/> when no invocation may start
    /// (the subscription was disposed): then invoke nothing and do not call <see cref="Leave"/>.</returns>
    Delegate? TryEnter(out object? state);

    /// <summary>Ends an invocation admitted by <see cref="TryEnter"/> (call it in a <see langword="finally"/>).</summary>
    /// <param name="state">The value <see cref="TryEnter"/> gave.</param>
    void Leave(object? state);
}
