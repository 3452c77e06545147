using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// A strong token's <see cref="Subscription.DisposeAsync"/> started inside the token's own synchronous handler waits for
/// that call and completes once it has returned: an asynchronous (<c>async void</c>) handler that awaits it, directly or
/// through <see cref="SubscriptionBag.DisposeAsync"/>, resumes. It must not fault there: the handler would rethrow the
/// fault on the thread pool, where it ends the process.
/// </summary>
public sealed class SubscriptionOwnHandlerDisposeAsyncTests
{
    [Theory]
    [InlineData("token")]
    [InlineData("bag")]
    [InlineData("bag after its Dispose")]
    public async Task DisposeAsync_AwaitedInTheTokensOwnAsyncHandler_CompletesOnceTheCallReturned(string through)
    {
        var source = new TestSource();
        var bag = new SubscriptionBag();
        Subscription? token = null;
        var waitedForTheCall = false;
        var outcome = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        token = bag.Add(Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)(async (_, _) =>
        {
            try
            {
                if (through == "bag after its Dispose")
                {
                    bag.Dispose();
                }

                var disposing = through == "token" ? token!.DisposeAsync() : bag.DisposeAsync();
                waitedForTheCall = !disposing.IsCompleted;
                await disposing.ConfigureAwait(false);
                outcome.SetResult(null);
            }
#pragma warning disable CA1031 // The outcome is asserted below.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                outcome.SetResult(ex);
            }
        })));

        source.RaiseChanged();

        Assert.Null(await outcome.Task.Bounded());
        Assert.True(waitedForTheCall, "DisposeAsync completed while its own handler's call still ran");
        Assert.False(token.IsActive);
        Assert.Equal(0, source.ChangedCount);
    }

    [Fact]
    public async Task Control_DisposeAsyncFromAnotherThread_WaitsForTheRunningHandler()
    {
        var source = new TestSource();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var token = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) =>
        {
            entered.Set();
            release.WaitBounded();
        }));
        var raising = Task.Run(source.RaiseChanged);
        entered.WaitBounded();

        var disposing = token.DisposeAsync().AsTask();
        var completedWhileTheHandlerRan = disposing.IsCompleted;
        release.Set();
        await disposing.Bounded();
        await raising.Bounded();
        Assert.False(completedWhileTheHandlerRan, "DisposeAsync from another thread completed while the handler still ran");
    }
}
