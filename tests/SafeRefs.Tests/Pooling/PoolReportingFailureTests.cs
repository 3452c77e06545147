using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.ObjectPool;
using SafeRefs.Pooling;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Pooling;

/// <summary>
/// A guarded pool's logger and metric listeners are user code too: when they throw, the lease still ends completely
/// (every listener detached, the object given back) and no caller fails.
/// </summary>
public sealed class PoolReportingFailureTests
{
    [Fact]
    public void End_DetachAndLoggerThrow_OtherDetachesStillRun_ObjectIsDiscardedAndFailureCounted()
    {
        using var meterFactory = new TestMeterFactory();
        using var failures = new MetricCollector<long>(meterFactory, "SafeRefs", "saferefs.pool.callback.failures");
        var logger = new ThrowingLogger();
        var pool = new GuardedObjectPool<Widget>(
            new DefaultObjectPool<Widget>(new DefaultPooledObjectPolicy<Widget>(), 1),
            new GuardedObjectPoolOptions<Widget> { Logger = logger, MeterFactory = meterFactory });
        var lease = pool.Rent();
        var widget = lease.Value;
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));
        lease.On(static (w, h) => w.Changed += h, static (_, _) => throw new ObjectDisposedException("widget"), (EventHandler)((_, _) => { }));
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));

        // Only the caller of Dispose sees the failure of the code it ran (the remove accessor), not the logger's.
        var thrown = Assert.Throws<AggregateException>(lease.Dispose);

        Assert.IsType<ObjectDisposedException>(Assert.Single(thrown.InnerExceptions));
        Assert.Equal(1, widget.ChangedCount); // the one whose remove threw stays; both others are gone
        Assert.Equal(1L, pool.Statistics.Returned);
        Assert.True(widget.IsDisposed); // discarded: it kept a listener
        Assert.True(logger.Calls >= 1);
        var measurement = Assert.Single(failures.GetMeasurementSnapshot());
        Assert.Equal(1L, measurement.Value);
        Assert.Equal("detach", measurement.Tags["saferefs.callback.kind"]);
        Assert.Equal(typeof(Widget).FullName, measurement.Tags["saferefs.pool.object.type"]);
    }

    [Fact]
    public void LeakSuspected_HandlerAndLoggerThrow_TheLeaseEndsAndTheFailureIsCounted()
    {
        using var meterFactory = new TestMeterFactory();
        using var failures = new MetricCollector<long>(meterFactory, "SafeRefs", "saferefs.pool.callback.failures");
        var pool = new GuardedObjectPool<Widget>(
            new DefaultObjectPool<Widget>(new DefaultPooledObjectPolicy<Widget>(), 1),
            new GuardedObjectPoolOptions<Widget>
            {
                Logger = new ThrowingLogger(),
                MeterFactory = meterFactory,
                ListenerCountProbe = static w => w.ListenerCount,
                OnLeakSuspected = LeakAction.Warn,
            });
        pool.LeakSuspected += static (_, _) => throw new FormatException("observer bug");
        var lease = pool.Rent();
        lease.Value.Changed += static (_, _) => { }; // behind the lease

        lease.Dispose();

        Assert.Equal(1L, pool.Statistics.Returned);
        Assert.Equal(1L, pool.Statistics.LeaksSuspected);
        var measurement = Assert.Single(failures.GetMeasurementSnapshot());
        Assert.Equal("event handler", measurement.Tags["saferefs.callback.kind"]);
    }

    [Fact]
    public void MaxListenersExceeded_HandlerAndLoggerThrow_OnStillAttaches()
    {
        using var meterFactory = new TestMeterFactory();
        using var failures = new MetricCollector<long>(meterFactory, "SafeRefs", "saferefs.pool.callback.failures");
        var pool = new GuardedObjectPool<Widget>(
            new DefaultObjectPool<Widget>(new DefaultPooledObjectPolicy<Widget>(), 1),
            new GuardedObjectPoolOptions<Widget>
            {
                Logger = new ThrowingLogger(),
                MeterFactory = meterFactory,
                MaxListenersPerEvent = 1,
                OnExceeded = ListenerBudgetAction.Warn,
            });
        pool.MaxListenersExceeded += static (_, _) => throw new FormatException("observer bug");
        using var lease = pool.Rent();

        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));

        Assert.Equal(2, lease.Value.ChangedCount);
        var measurement = Assert.Single(failures.GetMeasurementSnapshot());
        Assert.Equal("event handler", measurement.Tags["saferefs.callback.kind"]);
    }
}
