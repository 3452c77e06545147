using Microsoft.Extensions.Primitives;
using SafeRefs.Subscriptions;
using SafeRefs.Subscriptions.Internal;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// <c>Subscribe.OnChange</c>: a <c>Dispose</c> that runs after the producer's token returned its registration and
/// before the registration's handle is published still disposes that registration (the re-check in
/// <c>SetHandle</c>), so the token keeps nothing of the chain. Held deterministically with
/// <see cref="ChangeTokenSubscription.BeforeSetHandleHook"/>, which filters on the test's thread and runs once; only
/// this class sets it.
/// </summary>
public sealed class SubscribeOnChangeRegistrationTests
{
    [Fact]
    public void DisposeBeforeTheHandleIsPublished_RegistrationDisposed()
    {
        var token = new CountingToken();
        var thread = Environment.CurrentManagedThreadId;
        var hookRan = 0;
        ChangeTokenSubscription.BeforeSetHandleHook = s =>
        {
            if (Environment.CurrentManagedThreadId == thread && Interlocked.Exchange(ref hookRan, 1) == 0)
            {
                s.Dispose();
            }
        };
        Subscription subscription;
        try
        {
            subscription = Subscribe.OnChange(() => token, static () => { });
        }
        finally
        {
            ChangeTokenSubscription.BeforeSetHandleHook = null;
        }

        Assert.Equal(1, hookRan);
        Assert.False(subscription.IsActive);
        Assert.Equal(1, token.Registrations);
        Assert.Equal(1, token.RegistrationsDisposed);
    }

    // Control twin: without the Dispose in the window, the registration stays until the token is disposed.
    [Fact]
    public void Control_DisposedLater_RegistrationKeptUntilThen()
    {
        var token = new CountingToken();
        var subscription = Subscribe.OnChange(() => token, static () => { });
        Assert.Equal(1, token.Registrations);
        Assert.Equal(0, token.RegistrationsDisposed);

        subscription.Dispose();
        Assert.Equal(1, token.RegistrationsDisposed);
    }

    /// <summary>A token that never changes and counts its registrations and their disposals.</summary>
    private sealed class CountingToken : IChangeToken
    {
        private int _registrations;
        private int _disposed;

        public bool HasChanged => false;

        public bool ActiveChangeCallbacks => true;

        public int Registrations => Volatile.Read(ref _registrations);

        public int RegistrationsDisposed => Volatile.Read(ref _disposed);

        public IDisposable RegisterChangeCallback(Action<object?> callback, object? state)
        {
            Interlocked.Increment(ref _registrations);
            return new Registration(this);
        }

        private sealed class Registration(CountingToken token) : IDisposable
        {
            public void Dispose() => Interlocked.Increment(ref token._disposed);
        }
    }
}
