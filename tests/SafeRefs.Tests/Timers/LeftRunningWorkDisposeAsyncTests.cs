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
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var goDispose = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holdSecond = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<Task>? leftRunning = null;
        ScopedTimer? timer = null;
        var ticks = 0;
        timer = scope.Every(TimeSpan.FromSeconds(1), async _ =>
        {
            if (Interlocked.Increment(ref ticks) == 1)
            {
                // Work the first callback leaves running (it inherits the callback's flow), then returns.
                leftRunning = Task.Run(async () =>
                {
                    await goDispose.Task.ConfigureAwait(false);
                    return timer!.DisposeAsync().AsTask();
                });
                return;
            }

            await holdSecond.Task.ConfigureAwait(false);
        });

        clock.Advance(TimeSpan.FromSeconds(1)); // the first callback starts the work and returns
        if (secondCallbackRuns)
        {
            clock.Advance(TimeSpan.FromSeconds(1)); // the second one runs on (awaits holdSecond)
        }

        goDispose.SetResult();
        var disposing = await leftRunning!.Bounded();
        var faultedAtOnce = disposing.IsFaulted;
        var completedAtOnce = disposing.IsCompleted;
        holdSecond.TrySetResult();
        var failure = await Record.ExceptionAsync(() => disposing.Bounded());

        Assert.False(faultedAtOnce, $"DisposeAsync from work a finished callback left running faulted: {failure?.Message}");
        Assert.Null(failure);
        Assert.Equal(!secondCallbackRuns, completedAtOnce); // it waited for the second callback, and only for it
        Assert.Equal(secondCallbackRuns ? 2 : 1, Volatile.Read(ref ticks));
    }

    // secondBodyRuns = false is the control twin: the same DisposeAsync with no other body running.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task LoopDisposeAsync_FromWorkAFinishedBodyLeftRunning_WaitsForTheOtherBody_NeverFaults(bool secondBodyRuns)
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var goDispose = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holdSecond = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<Task>? leftRunning = null;
        ScopedLoop? loop = null;
        var bodies = 0;
        loop = scope.Loop(TimeSpan.FromSeconds(1), async _ =>
        {
            if (Interlocked.Increment(ref bodies) == 1)
            {
                // Work the first body leaves running (it inherits the body's flow), then returns.
                leftRunning = Task.Run(async () =>
                {
                    await goDispose.Task.ConfigureAwait(false);
                    return loop!.DisposeAsync().AsTask();
                });
                return;
            }

            await holdSecond.Task.ConfigureAwait(false);
        });

        clock.Advance(TimeSpan.FromSeconds(1)); // the first body starts the work and returns
        if (secondBodyRuns)
        {
            clock.Advance(TimeSpan.FromSeconds(1)); // the second one runs on (awaits holdSecond)
        }

        goDispose.SetResult();
        var disposing = await leftRunning!.Bounded();
        var faultedAtOnce = disposing.IsFaulted;
        var completedAtOnce = disposing.IsCompleted;
        holdSecond.TrySetResult();
        var failure = await Record.ExceptionAsync(() => disposing.Bounded());

        Assert.False(faultedAtOnce, $"DisposeAsync from work a finished body left running faulted: {failure?.Message}");
        Assert.Null(failure);
        Assert.False(secondBodyRuns && completedAtOnce, "DisposeAsync did not wait for the running body");
        Assert.Equal(secondBodyRuns ? 2 : 1, Volatile.Read(ref bodies));
    }
}
