using System.Diagnostics.Metrics;
using SafeRefs.Pooling;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Pooling;

/// <summary>The per-lease listener limit when two <c>On</c> of one lease run at once: the count and the room are taken
/// before the add accessor runs, so the second cannot pass a limit the first fills.</summary>
public sealed class PoolLeaseListenerLimitTests
{
    // sameEvent = false is the control twin: the second On is for another event, and both attach.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task On_WhileAnotherOnForTheSameEventRunsItsAddAccessor_AtTheLimit_IsRefused(bool sameEvent)
    {
        var pool = Widget.PoolOfOne(new() { MaxListenersPerEvent = 1, OnExceeded = ListenerBudgetAction.Throw });
        var lease = pool.Rent();
        var widget = lease.Value;
        using var inAdd = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var first = Task.Run(() => lease.On(
            (w, h) =>
            {
                inAdd.Set();
                release.Wait(TestTimeouts.Bound);
                w.Changed += h;
            },
            static (w, h) => w.Changed -= h,
            (EventHandler)((_, _) => { }),
            "Changed"));
        Assert.True(inAdd.Wait(TestTimeouts.Bound), "the first On did not reach its add accessor");

        var second = Record.Exception(() => lease.On(
            static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }), sameEvent ? "Changed" : "Other"));
        release.Set();
        await first.WaitAsync(TestTimeouts.Bound);

        if (sameEvent)
        {
            Assert.IsType<ListenerLimitExceededException>(second);
            Assert.Equal(1, widget.ChangedCount);
        }
        else
        {
            Assert.Null(second);
            Assert.Equal(2, widget.ChangedCount);
        }

        lease.Dispose();
        Assert.Equal(0, widget.ChangedCount);
    }

    // throws = false is the control twin: the room a successful add took stays tracked.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void On_AddAccessorThrows_ItsRoomAndCountAreGivenUp(bool throws)
    {
        var pool = Widget.PoolOfOne(new() { MaxListenersPerEvent = 1, OnExceeded = ListenerBudgetAction.Throw });
        using var lease = pool.Rent();
        var failure = Record.Exception(() => lease.On(
            (w, h) =>
            {
                w.Changed += h;
                if (throws)
                {
                    throw new InvalidOperationException("add failed");
                }
            },
            static (w, h) => w.Changed -= h,
            (EventHandler)((_, _) => { }),
            "Changed"));
        Assert.Equal(throws, failure is InvalidOperationException);

        var next = Record.Exception(() => lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }), "Changed"));

        Assert.Equal(throws, next is null);
        Assert.Equal(1, lease.Value.ChangedCount);
        Assert.Equal(1, lease.TrackedCount);
    }

    // failSecondAdd = false is the control twin: the second On crosses the limit and is the one reported.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void On_AddThrowsAboveTheWarnLimit_NotReported_ThenTheListenerThatCrossesItIs(bool failSecondAdd)
    {
        var pool = Widget.PoolOfOne(new() { MaxListenersPerEvent = 1 });
        var reported = new List<int>();
        pool.MaxListenersExceeded += (_, e) => reported.Add(e.Count);
        using var lease = pool.Rent();
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }), "Changed");

        var failure = Record.Exception(() => lease.On(
            (w, h) =>
            {
                if (failSecondAdd)
                {
                    throw new InvalidOperationException("add failed");
                }

                w.Changed += h;
            },
            static (w, h) => w.Changed -= h,
            (EventHandler)((_, _) => { }),
            "Changed"));
        var atSecond = reported.Count;
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }), "Changed");

        Assert.Equal(failSecondAdd, failure is InvalidOperationException);
        Assert.Equal(failSecondAdd ? 0 : 1, atSecond);
        Assert.Equal([2], reported); // once per (object, event), for the listener that crossed the limit
        Assert.Equal(failSecondAdd ? 2 : 3, lease.Value.ChangedCount);
    }

    // A metric listener is user code: the limit's metric is recorded outside the object's lock, for a refusal (Throw)
    // as for a warning (Warn, the twin). The listener here needs another thread to read the same lease.
    [Theory]
    [InlineData(ListenerBudgetAction.Throw)]
    [InlineData(ListenerBudgetAction.Warn)]
    public void On_AboveTheLimit_TheMetricListenerRunsOutsideTheLeasesLock(ListenerBudgetAction action)
    {
        using var meters = new TestMeterFactory();
        var pool = Widget.PoolOfOne(new() { MaxListenersPerEvent = 1, OnExceeded = action, MeterFactory = meters });
        using var lease = pool.Rent();
        bool? otherThreadGotIn = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Name == "saferefs.listener.budget.exceeded")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) => otherThreadGotIn ??= Task.Run(() => lease.TrackedCount).Wait(TestTimeouts.Bound));
        listener.Start();
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }), "Changed");

        var second = Record.Exception(() => lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }), "Changed"));

        Assert.Equal(action == ListenerBudgetAction.Throw, second is ListenerLimitExceededException);
        Assert.True(otherThreadGotIn, "the metric listener did not run, or ran while the lease's lock was held");
    }
}
