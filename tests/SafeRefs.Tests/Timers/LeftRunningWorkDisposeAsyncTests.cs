using Microsoft.Extensions.Time.Testing;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Timers;

/// <summary>
/// Work a timer callback starts and leaves running inherits the callback's flow, but once that callback has returned
/// it runs inside no callback: its <c>DisposeAsync</c> waits, also while ANOTHER callback of the same timer runs, and
/// never faults as "awaited inside the timer's own callback". The same for a loop's body.
/// </summary>
public sealed class LeftRunningWorkDisposeAsyncTests
{
    // secondCallbackRuns = false is the control twin: the same DisposeAsync with no other callback running.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TimerDisposeAsync_FromWorkAFinishedCallbackLeftRunning_WaitsForTheOtherCallback_NeverFaults(bool secondCallbackRuns)
    {
        var run = await DisposeFromLeftRunningWorkAsync(
            secondCallbackRuns, static (scope, callback) => scope.Every(TimeSpan.FromSeconds(1), callback));

        Assert.False(run.FaultedAtOnce, $"DisposeAsync from work a finished callback left running faulted: {run.Failure?.Message}");
        Assert.Null(run.Failure);
        Assert.Equal(!secondCallbackRuns, run.CompletedAtOnce); // it waited for the second callback, and only for it
        Assert.Equal(secondCallbackRuns ? 2 : 1, run.Calls);
    }

    // secondBodyRuns = false is the control twin: the same DisposeAsync with no other body running.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task LoopDisposeAsync_FromWorkAFinishedBodyLeftRunning_WaitsForTheOtherBody_NeverFaults(bool secondBodyRuns)
    {
        var run = await DisposeFromLeftRunningWorkAsync(
            secondBodyRuns, static (scope, body) => scope.Loop(TimeSpan.FromSeconds(1), body));

        Assert.False(run.FaultedAtOnce, $"DisposeAsync from work a finished body left running faulted: {run.Failure?.Message}");
        Assert.Null(run.Failure);
        Assert.False(secondBodyRuns && run.CompletedAtOnce, "DisposeAsync did not wait for the running body");
        Assert.Equal(secondBodyRuns ? 2 : 1, run.Calls);
    }

    /// <summary>
    /// Starts a timer or loop on a fake clock whose first call leaves work running and returns; that work, once
    /// released, calls the item's <c>DisposeAsync</c>. With <paramref name="secondCallRuns"/> a second call runs on
    /// (held) while it does.
    /// </summary>
    private static async Task<LeftRunningWorkRun> DisposeFromLeftRunningWorkAsync(
        bool secondCallRuns, Func<TimerScope, Func<CancellationToken, ValueTask>, IAsyncDisposable> start)
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var goDispose = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holdSecond = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<Task>? leftRunning = null;
        IAsyncDisposable? item = null;
        var calls = 0;
        item = start(scope, async _ =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                // Work the first call leaves running (it inherits the call's flow), then returns.
                leftRunning = Task.Run(async () =>
                {
                    await goDispose.Task.ConfigureAwait(false);
                    return item!.DisposeAsync().AsTask();
                });
                return;
            }

            await holdSecond.Task.ConfigureAwait(false);
        });

        clock.Advance(TimeSpan.FromSeconds(1)); // the first call starts the work and returns
        if (secondCallRuns)
        {
            clock.Advance(TimeSpan.FromSeconds(1)); // the second one runs on (awaits holdSecond)
        }

        goDispose.SetResult();
        var disposing = await leftRunning!.Bounded();
        var faultedAtOnce = disposing.IsFaulted;
        var completedAtOnce = disposing.IsCompleted;
        holdSecond.TrySetResult();
        var failure = await Record.ExceptionAsync(() => disposing.Bounded());
        return new LeftRunningWorkRun(faultedAtOnce, completedAtOnce, failure, Volatile.Read(ref calls));
    }

    private sealed record LeftRunningWorkRun(bool FaultedAtOnce, bool CompletedAtOnce, Exception? Failure, int Calls);
}
