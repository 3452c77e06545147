using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// When the <c>remove</c> accessor throws, <see cref="Subscription.DisposeAsync"/> still waits for a handler that is
/// running, and only then faults its task with the accessor's exception; it never throws synchronously.
/// </summary>
public sealed class SubscriptionDisposeAsyncFailureTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("Event")]
    [InlineData("WeakEvent")]
    public async Task RemoveThrows_DisposeAsyncWaitsForTheRunningHandler_ThenFaults(string kind)
    {
        var source = new ThrowingRemoveSource();
        var owner = new object();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        void Run()
        {
            entered.Set();
            release.Wait(Bound);
        }

        var token = kind == "Event"
            ? Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Remove(h), (EventHandler<int>)((_, _) => Run()))
            : Subscribe.WeakEvent<ThrowingRemoveSource, object, int>(source, static (s, h) => s.Changed += h, static (s, h) => s.Remove(h), owner, (_, _, _) => Run());
        var raising = Task.Run(source.Raise);
        Assert.True(entered.Wait(Bound));

        Task disposing;
        try
        {
            disposing = token.DisposeAsync().AsTask();
        }
        catch
        {
            release.Set(); // never leave the raise blocked
            throw;
        }

        var completedEarly = disposing.IsCompleted;
        release.Set();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => disposing.WaitAsync(Bound));
        await raising.WaitAsync(Bound);
        Assert.False(completedEarly, "DisposeAsync completed while the handler was still running");
        Assert.False(token.IsActive);
        GC.KeepAlive(owner);
    }

    private sealed class ThrowingRemoveSource
    {
        public event EventHandler<int>? Changed;

        public void Remove(EventHandler<int> handler) => throw new ObjectDisposedException(nameof(ThrowingRemoveSource));

        public void Raise() => Changed?.Invoke(this, 1);
    }
}
