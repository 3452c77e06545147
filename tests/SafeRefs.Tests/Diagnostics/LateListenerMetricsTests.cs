using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Diagnostics;
using SafeRefs.Events;
using SafeRefs.Pooling;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Diagnostics;

/// <summary>
/// The live counts read exact values when a listener attaches to a process that is already running (as
/// <c>dotnet-counters</c> does): items created while nobody listened are counted, and ending them counts down.
/// Each test uses its own container's meter, which nobody listens to before the collector is created.
/// </summary>
[Collection(GcCollection.Name)]
public sealed class LateListenerMetricsTests
{
    [Fact]
    public void WeakEventHandlers_AttachedBeforeAnyoneListened_Counted()
    {
        using var provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = provider.GetRequiredService<IMeterFactory>();
        var name = Unique("handlers");
        var ev = new WeakEvent<int>(new WeakEventOptions { Name = name, MeterFactory = factory });
        var owner = new object();
        var subscriptions = Enumerable.Range(0, 3).Select(_ => ev.Subscribe(owner, static (_, _, _) => { })).ToList();

        using var handlers = new MetricCollector<long>(factory, SafeRefsMeter.Name, "saferefs.weak_event.handler.count");

        Assert.Equal(3, MetricTotals.Sum(handlers, "saferefs.event.name", name));
        subscriptions[0].Dispose();
        Assert.Equal(2, MetricTotals.Sum(handlers, "saferefs.event.name", name));
        GC.KeepAlive(owner);
    }

    [Fact]
    public void ActiveTimers_StartedBeforeAnyoneListened_Counted()
    {
        using var provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = provider.GetRequiredService<IMeterFactory>();
        var name = Unique("timers");
        var time = new FakeTimeProvider();
        using var scope = new TimerScope(time) { Name = name, MeterFactory = factory };
        scope.Every(TimeSpan.FromSeconds(1), static () => { });
        scope.After(TimeSpan.FromSeconds(5), static () => { });

        using var active = new MetricCollector<long>(factory, SafeRefsMeter.Name, "saferefs.timer.active");

        Assert.Equal(2, MetricTotals.Sum(active, "saferefs.timer.scope.name", name));
        time.Advance(TimeSpan.FromSeconds(5));   // the one-shot fired and ended
        Assert.Equal(1, MetricTotals.Sum(active, "saferefs.timer.scope.name", name));
    }

    [Fact]
    public void OutstandingLeases_RentedBeforeAnyoneListened_Counted()
    {
        using var provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = provider.GetRequiredService<IMeterFactory>();
        var pool = new GuardedObjectPool<LateWidget>(
            new DefaultObjectPool<LateWidget>(new DefaultPooledObjectPolicy<LateWidget>()),
            new GuardedObjectPoolOptions<LateWidget> { MeterFactory = factory, TimeProvider = new FakeTimeProvider() });
        var first = pool.Rent();
        var second = pool.Rent();

        using var outstanding = new MetricCollector<long>(factory, SafeRefsMeter.Name, "saferefs.pool.lease.outstanding");

        var type = typeof(LateWidget).FullName!;
        Assert.Equal(2, MetricTotals.Sum(outstanding, "saferefs.pool.object.type", type));
        first.Dispose();
        Assert.Equal(1, MetricTotals.Sum(outstanding, "saferefs.pool.object.type", type));
        second.Dispose();
        Assert.Equal(0, MetricTotals.Sum(outstanding, "saferefs.pool.object.type", type));
    }

    [Fact]
    public void ActiveSubscriptions_CreatedBeforeAnyoneListened_CountedAndCountedDown()
    {
        // The static meter counts every subscription of the process, and a background purge of another test's dead weak
        // links moves that total: a child process, where only these three exist, reads exact values.
        var (exitCode, output) = ChildProcess.Run("late-listener-active-subscriptions", TimeSpan.FromSeconds(90));

        Assert.True(exitCode == 0, $"the child ended with {exitCode}: {output}");
        var lines = output.Split('\n', StringSplitOptions.TrimEntries);
        Assert.Contains("before dispose 3", lines);
        Assert.Contains("after dispose 0", lines);
    }

    /// <summary>The child of <see cref="ActiveSubscriptions_CreatedBeforeAnyoneListened_CountedAndCountedDown"/>.</summary>
    public static int ActiveSubscriptionsCreatedBeforeAnyoneListened()
    {
        var feed = new Feed();
        var subscriptions = Enumerable.Range(0, 3)
            .Select(_ => Subscribe.Event(feed, static (f, h) => f.Changed += h, static (f, h) => f.Changed -= h, (EventHandler)Feed.OnChanged))
            .ToList();

        using var active = MetricTotals.Collect("saferefs.subscription.active");
        Console.WriteLine($"before dispose {Total(active)}");
        subscriptions.ForEach(s => s.Dispose());
        Console.WriteLine($"after dispose {Total(active)}");
        return 0;
    }

    private static long Total(MetricCollector<long> collector)
    {
        collector.Clear();
        collector.RecordObservableInstruments();
        return collector.GetMeasurementSnapshot().Sum(m => m.Value);
    }

    private static string Unique(string prefix) => $"late-{prefix}-{Guid.NewGuid():N}";

    public sealed class LateWidget
    {
    }

    private sealed class Feed
    {
        public event EventHandler? Changed;

        public static void OnChanged(object? sender, EventArgs e)
        {
        }

        public void Raise() => Changed?.Invoke(this, EventArgs.Empty);
    }
}
