using System.Diagnostics.Metrics;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Caching;
using SafeRefs.Diagnostics;
using SafeRefs.Events;
using SafeRefs.Internal;
using SafeRefs.Pooling;
using SafeRefs.Subscriptions;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Diagnostics;

/// <summary>
/// The <c>SafeRefs</c> meter created through <see cref="IMeterFactory"/>: container-built primitives record through
/// the container's meter, primitives built with <c>new</c> opt in with a <c>MeterFactory</c> option, two containers
/// are isolated, and disposing a container disposes its meter. Without a factory the static fallback records.
/// </summary>
public sealed class MeterFactoryMetricsTests
{
    [Fact]
    public void AddBoundedMemoryCache_WithMetrics_RecordsThroughTheContainersMeter()
    {
        var name = Unique("di-cache");
        using var provider = new ServiceCollection()
            .AddMetrics()
            .AddBoundedMemoryCache(o => { o.Capacity = 2; o.Name = name; })
            .BuildServiceProvider();
        var factory = provider.GetRequiredService<IMeterFactory>();
        using var hits = new MetricCollector<long>(factory, SafeRefsMeter.Name, "saferefs.cache.hits");
        using var misses = new MetricCollector<long>(factory, SafeRefsMeter.Name, "saferefs.cache.misses");
        using var evictions = new MetricCollector<long>(factory, SafeRefsMeter.Name, "saferefs.cache.evictions");
        using var entries = new MetricCollector<long>(factory, SafeRefsMeter.Name, "saferefs.cache.entry.count");
        using var staticHits = MetricTotals.Collect("saferefs.cache.hits");
        var cache = provider.GetRequiredService<IMemoryCache>();

        cache.Set("a", 1);
        cache.Set("b", 2);
        cache.Set("c", 3);                         // evicts one entry (capacity 2)
        Assert.True(cache.TryGetValue("c", out _));
        Assert.False(cache.TryGetValue("nope", out _));
        entries.RecordObservableInstruments();

        Assert.Equal(1, MetricTotals.Sum(hits, "saferefs.cache.name", name));
        Assert.Equal(1, MetricTotals.Sum(misses, "saferefs.cache.name", name));
        evictions.RecordObservableInstruments();
        var eviction = Assert.Single(evictions.GetMeasurementSnapshot(), m => m.Value != 0);
        Assert.Equal(1, eviction.Value);
        Assert.Equal("capacity", eviction.Tags["saferefs.cache.eviction.reason"]);
        Assert.Equal(name, eviction.Tags["saferefs.cache.name"]);
        Assert.Equal(2, entries.LastMeasurement?.Value);
        Assert.Equal(name, entries.LastMeasurement?.Tags["saferefs.cache.name"]);
        Assert.Same(factory, hits.Instrument?.Meter.Scope);
        Assert.Equal(0, MetricTotals.Sum(staticHits, "saferefs.cache.name", name));   // not on the static fallback
    }

    [Fact]
    public void AddBoundedMemoryCache_NameNotConfigured_IsIMemoryCache()
    {
        using var provider = new ServiceCollection()
            .AddMetrics()
            .AddBoundedMemoryCache(o => o.Capacity = 4)
            .BuildServiceProvider();
        var factory = provider.GetRequiredService<IMeterFactory>();
        using var misses = new MetricCollector<long>(factory, SafeRefsMeter.Name, "saferefs.cache.misses");

        Assert.False(provider.GetRequiredService<IMemoryCache>().TryGetValue("x", out _));
        misses.RecordObservableInstruments();

        Assert.Equal("IMemoryCache", misses.LastMeasurement?.Tags["saferefs.cache.name"]);
    }

    [Fact]
    public void AddBoundedMemoryCache_WithoutMeterFactory_UsesTheStaticMeter()
    {
        var name = Unique("static-di-cache");
        using var misses = MetricTotals.Collect("saferefs.cache.misses");
        using var provider = new ServiceCollection()
            .AddBoundedMemoryCache(o => o.Name = name)
            .BuildServiceProvider();

        Assert.False(provider.GetRequiredService<IMemoryCache>().TryGetValue("x", out _));

        Assert.Equal(1, MetricTotals.Sum(misses, "saferefs.cache.name", name));
    }

    [Fact]
    public void TwoContainers_HaveSeparateMeters()
    {
        var name = Unique("two-containers");
        using var first = NewContainer(name);
        using var second = NewContainer(name);
        var firstFactory = first.GetRequiredService<IMeterFactory>();
        var secondFactory = second.GetRequiredService<IMeterFactory>();
        using var firstMisses = new MetricCollector<long>(firstFactory, SafeRefsMeter.Name, "saferefs.cache.misses");
        using var secondMisses = new MetricCollector<long>(secondFactory, SafeRefsMeter.Name, "saferefs.cache.misses");

        var cache = first.GetRequiredService<IMemoryCache>();
        Assert.False(cache.TryGetValue("x", out _));
        Assert.False(cache.TryGetValue("y", out _));
        Assert.False(second.GetRequiredService<IMemoryCache>().TryGetValue("x", out _));

        Assert.NotSame(firstMisses.Instrument!.Meter, secondMisses.Instrument!.Meter);
        Assert.Equal(2, MetricTotals.Sum(firstMisses, "saferefs.cache.name", name));
        Assert.Equal(1, MetricTotals.Sum(secondMisses, "saferefs.cache.name", name));
    }

    [Fact]
    public void DisposingTheContainer_DisposesItsMeter()
    {
        var provider = NewContainer(Unique("dispose"));
        var factory = provider.GetRequiredService<IMeterFactory>();
        var completed = new List<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
            MeasurementsCompleted = (instrument, _) =>
            {
                lock (completed)
                {
                    completed.Add(instrument.Name);
                }
            },
        };
        listener.Start();
        _ = provider.GetRequiredService<IMemoryCache>();
        var ev = new WeakEvent<int>(new WeakEventOptions { MeterFactory = factory });

        provider.Dispose();

        lock (completed)
        {
            Assert.Contains("saferefs.cache.hits", completed);
            Assert.Contains("saferefs.weak_event.handler.count", completed);
        }

        // A primitive that outlives the container keeps working; its instruments are simply off.
        var owner = new object();
        using (ev.Subscribe(owner, static (_, _, _) => { }))
        {
            Assert.Equal(1, ev.Count);
        }

        GC.KeepAlive(owner); // held weakly: collected before the count, it would not be counted
    }

    [Fact]
    public void MeterFactory_DisposedBeforeFirstUse_ThrowsObjectDisposed()
    {
        var provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = provider.GetRequiredService<IMeterFactory>();
        provider.Dispose();

        Assert.Throws<ObjectDisposedException>(() => new WeakEvent<int>(new WeakEventOptions { MeterFactory = factory }));
    }

    [Fact]
    public void AddGuardedObjectPool_WithMetrics_RecordsThroughTheContainersMeter()
    {
        using var provider = new ServiceCollection()
            .AddMetrics()
            .AddGuardedObjectPool<FactoryWidget>(o => o.TimeProvider = new FakeTimeProvider())
            .BuildServiceProvider();
        var factory = provider.GetRequiredService<IMeterFactory>();
        using var outstanding = new MetricCollector<long>(factory, SafeRefsMeter.Name, "saferefs.pool.lease.outstanding");
        using var timers = new MetricCollector<long>(factory, SafeRefsMeter.Name, "saferefs.timer.active");
        var pool = provider.GetRequiredService<GuardedObjectPool<FactoryWidget>>();

        var lease = pool.Rent();
        lease.Timers.Every(TimeSpan.FromSeconds(1), static () => { });   // the lease's scope reports to the pool's meter
        Assert.Equal(1, MetricTotals.Sum(outstanding, "saferefs.pool.object.type", typeof(FactoryWidget).FullName!));
        Assert.Equal(1, MetricTotals.Sum(timers, "saferefs.timer.scope.name", typeof(FactoryWidget).FullName!));
        lease.Dispose();

        Assert.Equal(0, MetricTotals.Sum(outstanding, "saferefs.pool.object.type", typeof(FactoryWidget).FullName!));
        Assert.Equal(0, MetricTotals.Sum(timers, "saferefs.timer.scope.name", typeof(FactoryWidget).FullName!));
        Assert.Equal(typeof(FactoryWidget).FullName, outstanding.LastMeasurement?.Tags["saferefs.pool.object.type"]);
    }

    [Fact]
    public void AddGuardedObjectPool_LeakBehindLease_LoggedAndCountedThroughTheContainer()
    {
        using var provider = new ServiceCollection()
            .AddMetrics()
            .AddLogging(b => b.AddFakeLogging())
            .AddGuardedObjectPool<LeakyFactoryWidget>(o =>
            {
                o.ListenerCountProbe = static w => w.ListenerCount;
                o.OnLeakSuspected = LeakAction.Warn;
            })
            .BuildServiceProvider();
        var factory = provider.GetRequiredService<IMeterFactory>();
        using var leaks = new MetricCollector<long>(factory, SafeRefsMeter.Name, "saferefs.pool.leak.suspected");
        var pool = provider.GetRequiredService<GuardedObjectPool<LeakyFactoryWidget>>();

        var lease = pool.Rent();
        lease.Value.Changed += static (_, _) => { };   // attached behind the lease
        lease.Dispose();

        var entry = Assert.Single(provider.GetFakeLogCollector().GetSnapshot(), e => e.Id.Id == 1301);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Equal(1, leaks.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(typeof(LeakyFactoryWidget).FullName, leaks.LastMeasurement?.Tags["saferefs.pool.object.type"]);
    }

    [Fact]
    public void MeterFactoryOptions_OfPrimitivesBuiltWithNew_RecordThroughThatFactory()
    {
        using var provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = provider.GetRequiredService<IMeterFactory>();
        using var handlers = new MetricCollector<long>(factory, SafeRefsMeter.Name, "saferefs.weak_event.handler.count");
        using var hits = new MetricCollector<long>(factory, SafeRefsMeter.Name, "saferefs.cache.hits");
        using var timers = new MetricCollector<long>(factory, SafeRefsMeter.Name, "saferefs.timer.active");
        using var exceeded = new MetricCollector<long>(factory, SafeRefsMeter.Name, "saferefs.listener.budget.exceeded");
        using var staticHandlers = MetricTotals.Collect("saferefs.weak_event.handler.count");
        var eventName = Unique("factory-event");

        var ev = new WeakEvent<int>(new WeakEventOptions
        {
            Name = eventName,
            MeterFactory = factory,
            Budget = new ListenerBudget(1) { MeterFactory = factory },
        });
        var owner = new object();
        using var first = ev.Subscribe(owner, static (_, _, _) => { });
        using var second = ev.Subscribe(owner, static (_, _, _) => { });
        using var cache = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int> { Capacity = 4, Name = "lru", MeterFactory = factory });
        cache.Set(1, 1);
        Assert.True(cache.TryGet(1, out _));
        using var scope = new TimerScope(new FakeTimeProvider()) { Name = "jobs", MeterFactory = factory };
        using var timer = scope.Every(TimeSpan.FromSeconds(1), static () => { });

        Assert.Equal(2, MetricTotals.Sum(handlers, "saferefs.event.name", eventName));
        Assert.Equal(0, MetricTotals.Sum(staticHandlers, "saferefs.event.name", eventName));
        Assert.Equal(1, MetricTotals.Sum(hits, "saferefs.cache.name", "lru"));
        Assert.Equal(1, MetricTotals.Sum(timers, "saferefs.timer.scope.name", "jobs"));
        Assert.Equal(1, MetricTotals.Sum(exceeded, "saferefs.event.name", eventName));
        GC.KeepAlive(owner);
    }

    [Fact]
    public void StaticFallback_NamedCache_TagsEveryInstrument()
    {
        var name = Unique("static-cache");
        using var hits = MetricTotals.Collect("saferefs.cache.hits");
        using var misses = MetricTotals.Collect("saferefs.cache.misses");
        using var evictions = MetricTotals.Collect("saferefs.cache.evictions");
        using var entries = MetricTotals.Collect("saferefs.cache.entry.count");
        using var cache = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int> { Capacity = 1, Name = name });

        cache.Set(1, 1);
        cache.Set(2, 2);
        Assert.True(cache.TryGet(2, out _));
        Assert.False(cache.TryGet(1, out _));
        entries.RecordObservableInstruments();

        Assert.Equal(1, MetricTotals.Sum(hits, "saferefs.cache.name", name));
        Assert.Equal(1, MetricTotals.Sum(misses, "saferefs.cache.name", name));
        Assert.Equal(1, MetricTotals.Sum(evictions, "saferefs.cache.name", name));
        Assert.Equal(1, Last(entries, name));
    }

    [Fact]
    public void CacheEntries_CachesSharingANameAreSummed_AndADisposedCacheCountsZero()
    {
        var name = Unique("shared-name");
        using var entries = MetricTotals.Collect("saferefs.cache.entry.count");
        using var a = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int> { Capacity = 8, Name = name });
        var b = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int> { Capacity = 8, Name = name });
        a.Set(1, 1);
        a.Set(2, 2);
        b.Set(1, 1);

        entries.RecordObservableInstruments();
        Assert.Equal(3, Last(entries, name));
        Assert.Single(entries.GetMeasurementSnapshot(), m => Equals(m.Tags["saferefs.cache.name"], name));   // one series per name

        b.Dispose();
        entries.RecordObservableInstruments();
        Assert.Equal(2, Last(entries, name));
    }

    [Fact]
    public void CacheEntries_ListeningAfterWrites_SeesTheExactCount()
    {
        // An observed instrument reads Count, so entries written before anyone listened are counted and removals
        // of them can never drive the value below zero.
        var name = Unique("late-listener");
        using var cache = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int> { Capacity = 8, Name = name });
        cache.Set(1, 1);
        cache.Set(2, 2);
        using var entries = MetricTotals.Collect("saferefs.cache.entry.count");

        Assert.True(cache.TryRemove(1, out _));
        entries.RecordObservableInstruments();

        Assert.Equal(1, Last(entries, name));
    }

    [Fact]
    public void TimerScopeName_TagsActiveTimers_AndChildScopesInheritIt()
    {
        var name = Unique("scope");
        using var active = MetricTotals.Collect("saferefs.timer.active");
        var time = new FakeTimeProvider();
        using var scope = new TimerScope(time) { Name = name };
        var child = scope.CreateChild();

        scope.Every(TimeSpan.FromSeconds(1), static () => { });
        child.After(TimeSpan.FromSeconds(5), static () => { });
        _ = child.CancelAfter(TimeSpan.FromSeconds(2));
        Assert.Equal(name, child.Name);
        Assert.Equal(3, MetricTotals.Sum(active, "saferefs.timer.scope.name", name));

        time.Advance(TimeSpan.FromSeconds(5));   // the one-shot fired, the CancelAfter source ended
        Assert.Equal(1, MetricTotals.Sum(active, "saferefs.timer.scope.name", name));
        GC.KeepAlive(child); // a parent holds its children weakly: a collection would retire the child's timers

        scope.Dispose();
        Assert.Equal(0, MetricTotals.Sum(active, "saferefs.timer.scope.name", name));
    }

    [Fact]
    public void TimerScope_FixedConstructorsStillWork_NameDefaultsToNull()
    {
        using var a = new TimerScope();
        using var b = new TimerScope(TimeProvider.System);
        using var c = new TimerScope(null, CancellationToken.None);

        Assert.Null(a.Name);
        Assert.Null(b.MeterFactory);
        Assert.Null(c.Name);
    }

    private static long Last(MetricCollector<long> collector, string name) =>
        collector.GetMeasurementSnapshot().Last(m => Equals(m.Tags["saferefs.cache.name"], name)).Value;

    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N");

    private static ServiceProvider NewContainer(string cacheName) => new ServiceCollection()
        .AddMetrics()
        .AddBoundedMemoryCache(o => o.Name = cacheName)
        .BuildServiceProvider();

    private sealed class FactoryWidget
    {
    }

    private sealed class LeakyFactoryWidget
    {
        public event EventHandler? Changed;

        public int ListenerCount => Changed?.GetInvocationList().Length ?? 0;
    }
}
