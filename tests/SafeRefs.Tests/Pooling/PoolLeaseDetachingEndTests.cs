using Microsoft.Extensions.Time.Testing;
using SafeRefs.Events;
using SafeRefs.Pooling;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Pooling;

/// <summary>A <c>DisposeAsync</c> of a lease inside the callback of a tracked item while another thread's end of the
/// lease is still detaching attachments made after that item (in their remove accessor): the end has not reached the
/// item yet, but its hand-back will wait for the callback all the same.</summary>
public sealed class PoolLeaseDetachingEndTests
{
    public enum TrackedItem
    {
        Scope,
        Timer,
        Loop,
        AsyncToken,
    }

    [Theory]
    [InlineData(TrackedItem.Scope)]
    [InlineData(TrackedItem.Timer)]
    [InlineData(TrackedItem.Loop)]
    [InlineData(TrackedItem.AsyncToken)]
    public async Task DisposeAsync_InsideATrackedItemsCallback_WhileAnotherThreadsEndDetaches_FaultsAtOnce(TrackedItem item)
    {
        var clock = new FakeTimeProvider();
        using var outer = new TimerScope(clock);
        var source = new AsyncWeakEvent<int>();
        var owner = new object();
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        using var inCallback = new ManualResetEventSlim();
        using var inRemove = new ManualResetEventSlim();
        using var releaseRemove = new ManualResetEventSlim();
        var inside = new TaskCompletionSource<(bool Completed, Task Disposing)>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Callback()
        {
            inCallback.Set();
            inRemove.WaitBounded(); // the other thread's end now detaches the handler attached after this item
            var disposing = lease.DisposeAsync();
            inside.SetResult((disposing.IsCompleted, disposing.AsTask()));
        }

        // Attached first, so detached last: the end reaches it only after the remove accessor below returned.
        var due = TimeSpan.FromSeconds(1);
        switch (item)
        {
            case TrackedItem.Scope:
                lease.Track(new TimerScope(clock)).After(due, Callback);
                break;
            case TrackedItem.Timer:
                lease.Track(outer.After(due, Callback));
                break;
            case TrackedItem.Loop:
                lease.Track(outer.Loop(due, _ =>
                {
                    Callback();
                    return ValueTask.CompletedTask;
                }));
                break;
            default:
                lease.Track(source.Subscribe(owner, async (_, _, _, _) =>
                {
                    await Task.Yield();
                    Callback();
                }));
                break;
        }

        lease.On<EventHandler>(
            static (w, h) => w.Changed += h,
            (w, h) =>
            {
                inRemove.Set();
                releaseRemove.WaitBounded();
                w.Changed -= h;
            },
            static (_, _) => { });

        var firing = item == TrackedItem.AsyncToken
            ? Task.Run(() => source.RaiseAsync(null, 1).AsTask())
            : Task.Run(() => clock.Advance(due));
        inCallback.WaitBounded();
        var first = Task.Run(lease.Dispose);
        var (completed, disposing) = await inside.Task.Bounded();
        releaseRemove.Set();
        await first.Bounded();
        await firing.Bounded();

        Assert.True(completed, "DisposeAsync inside the tracked item's callback was pending while another end detached: awaiting it there would hang");
        await Assert.ThrowsAsync<InvalidOperationException>(() => disposing.Bounded());
        Assert.True(SpinWait.SpinUntil(() => pool.Statistics.Returned == 1, TestTimeouts.Bound));
        Assert.False(widget.IsDisposed, "the object was discarded");
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
        GC.KeepAlive(owner);
    }
}
