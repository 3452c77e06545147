namespace SafeRefs.Subscriptions.Internal;

/// <summary>The token of <c>Subscribe.OnCancel</c>: the registration calls back through it, so a disposed token starts nothing.</summary>
internal sealed class CancellationSubscription : GatedSubscription
{
    private static readonly Action<object?> OnCancelledCallback = static token => ((CancellationSubscription)token!).OnCancelled();

    private Action<object?>? _callback;
    private object? _state;
    private CancellationTokenRegistration _registration;

    private CancellationSubscription(Action<object?> callback, object? state)
    {
        _callback = callback;
        _state = state;
    }

    /// <summary>Registers on <paramref name="token"/> without flowing the ExecutionContext (runs the callback now if it is cancelled).</summary>
    internal static CancellationSubscription Register(Action<object?> callback, object? state, CancellationToken token)
    {
        var subscription = new CancellationSubscription(callback, state);
        subscription._registration = token.UnsafeRegister(OnCancelledCallback, subscription);
        return subscription;
    }

    /// <summary>Unregisters without waiting: a callback that is running is left to finish (the gate stops new ones).</summary>
    private protected override void DetachSource() => _registration.Unregister();

    /// <summary>
    /// A disposed token keeps neither the callback and its state nor the registration (which reaches the token
    /// source).
    /// </summary>
    private protected override void ReleaseCallback()
    {
        Volatile.Write(ref _callback, null);
        Volatile.Write(ref _state, null);
        _registration = default;
    }

    private void OnCancelled()
    {
        // Read before entering: both are cleared only after the gate closed (see EventSubscription.Enter).
        var callback = Volatile.Read(ref _callback);
        var state = Volatile.Read(ref _state);
        if (callback is null || !TryEnter())
        {
            return;
        }

        try
        {
            callback(state);
        }
        finally
        {
            Leave();
        }
    }
}
