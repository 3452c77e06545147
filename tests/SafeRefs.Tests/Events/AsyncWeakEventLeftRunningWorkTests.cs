using SafeRefs.Events;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

/// <summary>
/// Work an <see cref="AsyncWeakEvent{TArgs}"/> handler starts and leaves running inherits the handler's flow, but once
/// that call has completed it runs inside no call: the token's <c>DisposeAsync</c> there waits, also while ANOTHER
/// raise calls the same handler, and never faults as "awaited inside its own handler".
/// </summary>
public sealed class AsyncWeakEventLeftRunningWorkTests
{
    // secondCallRuns = false is the control twin: the same DisposeAsync with no other call of the handler running.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TokenDisposeAsync_FromWorkAFinishedCallLeftRunning_WaitsForTheOtherCall_NeverFaults(bool secondCallRuns)
    {
        var source = new AsyncWeakEvent<int>();
        var owner = new Owner();
        Subscription? token = null;
        token = source.Subscribe(owner, async (o, _, call, _) =>
        {
            if (call == 1)
            {
                // Work the first call leaves running (it inherits the call's flow), then returns.
                o.LeftRunning = Task.Run(async () =>
                {
                    await o.GoDispose.Task.ConfigureAwait(false);
                    return token!.DisposeAsync().AsTask();
                });
                return;
            }

            o.SecondStarted.TrySetResult();
            await o.HoldSecond.Task.ConfigureAwait(false);
        });

        await source.RaiseAsync(null, 1).Bounded(); // the first call starts the work and completes
        var secondRaise = Task.CompletedTask;
        if (secondCallRuns)
        {
            secondRaise = source.RaiseAsync(null, 2).AsTask(); // another raise's call of the same handler runs on
            await owner.SecondStarted.Task.Bounded();
        }

        owner.GoDispose.SetResult();
        var disposing = await owner.LeftRunning!.Bounded();
        var faultedAtOnce = disposing.IsFaulted;
        var completedAtOnce = disposing.IsCompleted;
        owner.HoldSecond.TrySetResult();
        var failure = await Record.ExceptionAsync(() => disposing.Bounded());
        await secondRaise.Bounded();

        Assert.False(faultedAtOnce, $"DisposeAsync from work a finished call left running faulted: {failure?.Message}");
        Assert.Null(failure);
        Assert.Equal(!secondCallRuns, completedAtOnce); // it waited for the second call, and only for it
        GC.KeepAlive(owner);
    }

    private sealed class Owner
    {
        public TaskCompletionSource GoDispose { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource HoldSecond { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource SecondStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<Task>? LeftRunning { get; set; }
    }
}
