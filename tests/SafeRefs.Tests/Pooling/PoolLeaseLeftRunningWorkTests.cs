using Microsoft.Extensions.Time.Testing;
using SafeRefs.Pooling;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Pooling;

/// <summary>
/// Work a lease timer callback starts and leaves running inherits the callback's flow, but once that callback has
/// returned it runs inside no callback of the lease: the lease's <c>DisposeAsync</c> from there waits for another
/// call of the same timer that runs, and never faults as "awaited inside a timer callback of the lease".
/// </summary>
public sealed class PoolLeaseLeftRunningWorkTests
{
    // secondCallRuns = false is the control twin: the same DisposeAsync with no other call running.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DisposeAsync_FromWorkAFinishedLeaseTimerCallLeftRunning_WaitsForTheOtherCall_NeverFaults(bool secondCallRuns)
    {
        var clock = new FakeTimeProvider();
        var pool = Widget.PoolOfOne(new() { TimeProvider = clock });
        var lease = pool.Rent();
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var inSecond = new ManualResetEventSlim();
        using var releaseSecond = new ManualResetEventSlim();
        Task<Task>? work = null;
        var calls = 0;
        lease.Timers.Every(TimeSpan.FromSeconds(1), () =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                // Left running (its ExecutionContext, with the call's frame, is captured here); the call returns.
                work = go.Task.ContinueWith(_ => lease.DisposeAsync().AsTask(), TaskScheduler.Default);
                return;
            }

            inSecond.Set();
            releaseSecond.Wait(TestTimeouts.Bound);
        });
        clock.Advance(TimeSpan.FromSeconds(1));
        var second = secondCallRuns ? Task.Run(() => clock.Advance(TimeSpan.FromSeconds(1))) : Task.CompletedTask;
        Assert.True(!secondCallRuns || inSecond.Wait(TestTimeouts.Bound), "the second call did not start");

        go.SetResult();
        var disposing = await work!.WaitAsync(TestTimeouts.Bound);
        var (faultedAtOnce, completedAtOnce) = (disposing.IsFaulted, disposing.IsCompleted);
        releaseSecond.Set();
        await second.WaitAsync(TestTimeouts.Bound);
        var failure = await Record.ExceptionAsync(() => disposing.WaitAsync(TestTimeouts.Bound));

        Assert.False(faultedAtOnce, $"DisposeAsync from work a finished call left running faulted: {failure?.Message}");
        Assert.Null(failure);
        Assert.Equal(!secondCallRuns, completedAtOnce); // it waited for the second call, and only for it
        Assert.Equal(1L, pool.Statistics.Returned);
        Assert.Equal(secondCallRuns ? 2 : 1, Volatile.Read(ref calls));
    }
}
