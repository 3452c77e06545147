using SafeRefs.Internal;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Internal;

/// <summary>
/// <see cref="InvocationGate.WhenIdleAsync"/>'s lost wake-up: the last admitted caller leaves after the waiter read a
/// non-zero count and before it published its completion source, so that <see cref="InvocationGate.Exit"/> finds no
/// source to complete; the waiter's re-check after publishing must complete it. Held deterministically with
/// <see cref="InvocationGate.BeforeIdlePublishHook"/>, which filters on the test's thread and runs once; only this class
/// sets it.
/// </summary>
public sealed class InvocationGateIdleWaitTests
{
    [Fact]
    public async Task DisposeAsync_LastHandlerLeavesBeforeTheWaitIsPublished_Completes()
    {
        var (hookRan, completed) = await DisposeAsyncWhileHandlerRuns(handlerLeavesInTheWindow: true);
        Assert.True(hookRan, "setup: the waiter must reach the window");
        Assert.True(completed);
    }

    // Control twin: the same wait with the handler leaving after the wait is published completes too, so the test
    // above can only fail through the window.
    [Fact]
    public async Task DisposeAsync_Control_LastHandlerLeavesAfterTheWaitIsPublished_Completes()
    {
        var (hookRan, completed) = await DisposeAsyncWhileHandlerRuns(handlerLeavesInTheWindow: false);
        Assert.False(hookRan);
        Assert.True(completed);
    }

    private static async Task<(bool HookRan, bool Completed)> DisposeAsyncWhileHandlerRuns(bool handlerLeavesInTheWindow)
    {
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var source = new Source();
        var token = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) =>
        {
            entered.Set();
            release.WaitBounded();
        }));

        // A thread of its own: the test does not depend on the thread pool being prompt.
        var raising = Task.Factory.StartNew(source.Raise, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        entered.WaitBounded();
        var hookRan = 0;
        try
        {
            Task waited;
            if (handlerLeavesInTheWindow)
            {
                var waiter = Environment.CurrentManagedThreadId;
                InvocationGate.BeforeIdlePublishHook = () =>
                {
                    if (Environment.CurrentManagedThreadId == waiter && Interlocked.Exchange(ref hookRan, 1) == 0)
                    {
                        // The handler returns and its Exit runs before the waiter publishes its completion source.
                        release.Set();
                        raising.WaitBounded();
                    }
                };
                waited = token.DisposeAsync().AsTask();
                InvocationGate.BeforeIdlePublishHook = null;
            }
            else
            {
                waited = token.DisposeAsync().AsTask();
                release.Set();
            }

            await waited.Bounded();
            return (Volatile.Read(ref hookRan) == 1, waited.IsCompletedSuccessfully);
        }
        finally
        {
            InvocationGate.BeforeIdlePublishHook = null;
            release.Set();
            await raising.Bounded();
        }
    }

    private sealed class Source
    {
        public event EventHandler? Changed;

        public void Raise() => Changed?.Invoke(this, EventArgs.Empty);
    }
}
