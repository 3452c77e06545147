using Microsoft.Extensions.Time.Testing;
using SafeRefs.Pooling;
using SafeRefs.Subscriptions;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Pooling;

/// <summary>A lease ending while a callback of a tracked token registration runs (audit s7, probes B1 and B2).</summary>
public sealed class PoolLeaseRegistrationEndTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Dispose_WhileATrackedTokenRegistrationsCallbackRunsElsewhere_DoesNotBlock_AndTheObjectGoesBackAfterIt()
    {
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        using var source = new CancellationTokenSource();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        lease.Track(source.Token.Register(() =>
        {
            entered.Set();
            release.Wait(Bound);
        }));
        var cancelling = Task.Run(source.Cancel);
        Assert.True(entered.Wait(Bound), "the registration's callback did not start");

        var disposed = lease.DisposeAsync(); // on this thread: returns while the callback still runs

        Assert.False(disposed.IsCompleted);
        Assert.Equal(0L, pool.Statistics.Returned);
        release.Set();
        await disposed.AsTask().WaitAsync(Bound);
        await cancelling.WaitAsync(Bound);
        Assert.Equal(1L, pool.Statistics.Returned);
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
    }

    public enum TrackedTimerItem
    {
        Scope,
        Timer,
        Loop,
    }

    [Theory]
    [InlineData(TrackedTimerItem.Scope)]
    [InlineData(TrackedTimerItem.Timer)]
    [InlineData(TrackedTimerItem.Loop)]
    public async Task Dispose_FromInsideATrackedTimerItemsCallback_DoesNotThrow_AndTheObjectGoesBackAfterTheCallback(TrackedTimerItem item)
    {
        // Audit s7, probe B4: a timer scope's, timer's or loop's DisposeAsync faults inside its own callback; the end
        // must not use it.
        var clock = new FakeTimeProvider();
        using var outer = new TimerScope(clock);
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Exception? thrown = null;
        long returnedInsideCallback = -1;
        void Callback()
        {
            thrown = Record.Exception(lease.Dispose);
            returnedInsideCallback = pool.Statistics.Returned;
            done.TrySetResult();
        }

        var due = TimeSpan.FromSeconds(1);
        switch (item)
        {
            case TrackedTimerItem.Scope:
                lease.Track(new TimerScope(clock)).After(due, Callback);
                break;
            case TrackedTimerItem.Timer:
                lease.Track(outer.After(due, Callback));
                break;
            default:
                lease.Track(outer.Loop(due, _ =>
                {
                    Callback();
                    return ValueTask.CompletedTask;
                }));
                break;
        }

        clock.Advance(due);
        await done.Task.WaitAsync(Bound);

        Assert.Null(thrown);
        Assert.Equal(0L, returnedInsideCallback);
        Assert.True(SpinWait.SpinUntil(() => pool.Statistics.Returned == 1, Bound));
        Assert.False(widget.IsDisposed, "the object was discarded");
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
    }

    [Fact]
    public async Task Dispose_FromInsideATrackedOnCancelCallback_TheObjectGoesBackOnlyAfterTheCallback()
    {
        // The documented way to bind a token callback to a lease: its callback is waited for, also from inside.
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        using var source = new CancellationTokenSource();
        long returnedInsideCallback = -1;
        lease.Track(Subscribe.OnCancel(source.Token, _ =>
        {
            lease.Dispose();
            returnedInsideCallback = pool.Statistics.Returned;
        }, null));

        await Task.Run(source.Cancel).WaitAsync(Bound);

        Assert.Equal(0L, returnedInsideCallback);
        Assert.True(SpinWait.SpinUntil(() => pool.Statistics.Returned == 1, Bound));
    }
}
