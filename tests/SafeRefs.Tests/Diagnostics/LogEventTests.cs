using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Events;
using SafeRefs.Internal;
using SafeRefs.Pooling;
using SafeRefs.Subscriptions;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Diagnostics;

/// <summary>The warnings of issue 8 reach <see cref="ILogger"/> with stable event ids, and the matching counters move.</summary>
public sealed class LogEventTests
{
    [Fact]
    public void ListenerLimitExceeded_LogsWarning1000_AndCountsExceeded()
    {
        var name = "metrics-budget-" + Guid.NewGuid().ToString("N");
        using var exceeded = MetricTotals.Collect("saferefs.listener.budget.exceeded");
        var logger = new FakeLogger();
        var ev = new WeakEvent<int>(new WeakEventOptions { Name = name, Budget = new ListenerBudget(1, logger) });
        var owner = new object();

        using var first = ev.Subscribe(owner, static (_, _, _) => { });
        using var second = ev.Subscribe(owner, static (_, _, _) => { });

        var entry = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(1000, entry.Id.Id);
        Assert.Equal("ListenerLeakSuspected", entry.Id.Name);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Contains(name, entry.Message, StringComparison.Ordinal);
        Assert.Equal(1, MetricTotals.Sum(exceeded, "saferefs.event.name", name));
    }

    [Fact]
    public void PoolLeakSuspected_LogsWarning1301_AndCountsLeak()
    {
        using var leaks = MetricTotals.Collect("saferefs.pool.leak.suspected");
        var logger = new FakeLogger();
        var pool = new GuardedObjectPool<LeakyWidget>(
            new DefaultObjectPool<LeakyWidget>(new DefaultPooledObjectPolicy<LeakyWidget>()),
            new GuardedObjectPoolOptions<LeakyWidget>
            {
                ListenerCountProbe = static w => w.ListenerCount,
                OnLeakSuspected = LeakAction.Warn,
                Logger = logger,
            });

        var lease = pool.Rent();
        lease.Value.Changed += static (_, _) => { };   // attached behind the lease
        lease.Dispose();

        var entry = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(1301, entry.Id.Id);
        Assert.Equal("LeaseAttachedBehind", entry.Id.Name);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Equal(1, MetricTotals.Sum(leaks, "saferefs.pool.object.type", typeof(LeakyWidget).FullName!));
    }

    [Fact]
    public void TimerCallbackFailed_LogsError1200()
    {
        var clock = new FakeTimeProvider();
        var logger = new FakeLogger();
        using var scope = new TimerScope(clock) { Logger = logger };
        scope.Error += static (_, _) => { };
        scope.After(TimeSpan.FromSeconds(1), static () => throw new InvalidOperationException("tick failed"));

        clock.Advance(TimeSpan.FromSeconds(1));

        var entry = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(1200, entry.Id.Id);
        Assert.Equal("TimerCallbackFailed", entry.Id.Name);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Equal("tick failed", entry.Exception?.Message);
    }

    private sealed class LeakyWidget
    {
        private EventHandler? _changed;

        public event EventHandler? Changed
        {
            add
            {
                _changed += value;
                ListenerCount++;
            }

            remove
            {
                _changed -= value;
                ListenerCount--;
            }
        }

        public int ListenerCount { get; private set; }

        public void Raise() => _changed?.Invoke(this, EventArgs.Empty);
    }
}
