namespace SafeRefs.Timers.Internal;

/// <summary>
/// The registration of a <see cref="TimerScope"/> on its <c>lifetime</c> token. Only the scope references it (the
/// token's source reaches just the scope's weak self-reference), so when a scope is dropped undisposed this object is
/// finalized with it and takes the registration off the token: a long-lived token does not collect one registration
/// per forgotten scope.
/// </summary>
internal sealed class LifetimeRegistration : IDisposable
{
    private readonly CancellationTokenRegistration _registration;

    public LifetimeRegistration(WeakReference<TimerScope> scope, CancellationToken lifetime)
    {
        _registration = lifetime.UnsafeRegister(
            static state =>
            {
                if (((WeakReference<TimerScope>)state!).TryGetTarget(out var target))
                {
                    target.DisposeForLifetime();
                }
            },
            scope);
    }

    ~LifetimeRegistration() => _registration.Unregister();

    /// <summary>Takes the registration off the token (the scope was disposed); idempotent.</summary>
    public void Dispose()
    {
        _registration.Unregister();
        GC.SuppressFinalize(this);
    }
}
