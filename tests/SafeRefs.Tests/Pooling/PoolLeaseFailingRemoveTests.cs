using Microsoft.Extensions.Logging.Testing;
using SafeRefs.Pooling;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Pooling;

/// <summary>
/// The two paths of <c>On</c> that call the remove accessor themselves (the add threw; the lease ended while the add
/// ran): a remove that throws there may leave the handler on the object, so the object is discarded, never reused.
/// </summary>
public sealed class PoolLeaseFailingRemoveTests
{
    // removeThrows = false is the control twin: the handler is removed again and the object is reused.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task On_LeaseEndedWhileTheAddRan_RemoveThrows_TheObjectIsDiscarded(bool removeThrows)
    {
        var logger = new FakeLogger();
        var pool = Widget.PoolOfOne(new() { Logger = logger });
        var lease = pool.Rent();
        var widget = lease.Value;
        using var inAdd = new ManualResetEventSlim();
        using var releaseAdd = new ManualResetEventSlim();
        var attaching = Task.Run(() => lease.On(
            (w, h) =>
            {
                inAdd.Set();
                releaseAdd.Wait(TestTimeouts.Bound);
                w.Changed += h;
            },
            Remove(removeThrows),
            (EventHandler)((_, _) => { })));
        Assert.True(inAdd.Wait(TestTimeouts.Bound), "the add accessor did not start");

        lease.Dispose(); // does not wait for the add accessor
        releaseAdd.Set();
        var failure = await Record.ExceptionAsync(() => attaching.WaitAsync(TestTimeouts.Bound));

        Assert.IsType<ObjectDisposedException>(failure);
        Assert.Equal(removeThrows, failure.InnerException is InvalidOperationException { Message: "remove failed" });
        AssertDiscardedOnlyIfRemoveThrew(pool, widget, logger, removeThrows);
    }

    // removeThrows = false is the control twin: the handler is removed again and the object is reused.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void On_AddAttachesThenThrows_RemoveThrows_TheObjectIsDiscardedWhenTheLeaseEnds(bool removeThrows)
    {
        var logger = new FakeLogger();
        var pool = Widget.PoolOfOne(new() { Logger = logger });
        var lease = pool.Rent();
        var widget = lease.Value;

        var failure = Record.Exception(() => lease.On(
            static (w, h) =>
            {
                w.Changed += h;
                throw new InvalidOperationException("add failed");
            },
            Remove(removeThrows),
            (EventHandler)((_, _) => { })));
        lease.Dispose();

        Assert.Equal("add failed", Assert.IsType<InvalidOperationException>(failure).Message);
        AssertDiscardedOnlyIfRemoveThrew(pool, widget, logger, removeThrows);
    }

    private static Action<Widget, EventHandler> Remove(bool removeThrows) => (w, h) =>
    {
        if (removeThrows)
        {
            throw new InvalidOperationException("remove failed");
        }

        w.Changed -= h;
    };

    // The lease is over either way; a remove that failed leaves the object discarded (and logged), else it is reused
    // with no handler left on it.
    private static void AssertDiscardedOnlyIfRemoveThrew(GuardedObjectPool<Widget> pool, Widget widget, FakeLogger logger, bool removeThrows)
    {
        Assert.Equal(1L, pool.Statistics.Returned);
        Assert.Equal(removeThrows, widget.IsDisposed);
        Assert.Equal(removeThrows ? 1 : 0, logger.Collector.GetSnapshot().Count(static r => r.Id.Id == 1302));
        using var next = pool.Rent();
        Assert.Equal(!removeThrows, ReferenceEquals(widget, next.Value));
        Assert.Equal(0, next.Value.ChangedCount);
    }
}
