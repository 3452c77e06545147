using System.Diagnostics.Metrics;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;
using SafeRefs.Caching;
using SafeRefs.Diagnostics;
using SafeRefs.Events;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Docs;

/// <summary>The examples of the "Metrics and logs" section of docs/diagnostics.md, compiled and run.</summary>
public sealed class DiagnosticsDocs
{
    [Fact]
    public void Diagnostics_AddSafeRefsMetrics_EnablesTheMeter()
    {
        var services = new ServiceCollection();
        #region docs-diagnostics-di
        services.AddMetrics();            // IMeterFactory (hosts already register it)
        services.AddSafeRefsMetrics();    // enable rule for the "SafeRefs" meter in the DI metrics pipeline
        services.AddBoundedMemoryCache(o => o.Name = "products");   // records through the container's meter
        #endregion
        using var provider = services.BuildServiceProvider();
        Assert.Contains(provider.GetRequiredService<IOptions<MetricsOptions>>().Value.Rules, r => r.MeterName == SafeRefsMeter.Name);
        using var misses = new MetricCollector<long>(provider.GetRequiredService<IMeterFactory>(), SafeRefsMeter.Name, "saferefs.cache.misses");
        Assert.False(provider.GetRequiredService<IMemoryCache>().TryGetValue("x", out _));
        misses.RecordObservableInstruments();
        Assert.Equal("products", misses.LastMeasurement?.Tags["saferefs.cache.name"]);
    }

    [Fact]
    public void Diagnostics_PrimitivesBuiltWithNew_JoinTheContainersMeter()
    {
        using var provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var hits = new MetricCollector<long>(provider.GetRequiredService<IMeterFactory>(), SafeRefsMeter.Name, "saferefs.cache.hits");
        #region docs-diagnostics-new
        var meterFactory = provider.GetRequiredService<IMeterFactory>();
        using var prices = new BoundedLruCache<string, decimal>(new BoundedLruCacheOptions<string, decimal>
        {
            Capacity = 1_000,
            Name = "prices",
            MeterFactory = meterFactory,
        });
        using var jobs = new TimerScope { Name = "jobs", MeterFactory = meterFactory };
        var ordersChanged = new WeakEvent<int>(new WeakEventOptions { Name = "Orders.Changed", MeterFactory = meterFactory });
        #endregion
        prices.Set("a", 1m);
        Assert.True(prices.TryGet("a", out _));
        hits.RecordObservableInstruments();
        Assert.Equal("prices", hits.LastMeasurement?.Tags["saferefs.cache.name"]);
        Assert.Same(meterFactory, jobs.MeterFactory);
        Assert.Equal(0, ordersChanged.Count);
    }

    [Fact]
    public void Diagnostics_MetricCollectorOnTheContainersFactory_SeesItsCache()
    {
        #region docs-diagnostics-test
        using var provider = new ServiceCollection()
            .AddMetrics()
            .AddBoundedMemoryCache(o => o.Name = "products")
            .BuildServiceProvider();
        var meterFactory = provider.GetRequiredService<IMeterFactory>();
        using var misses = new MetricCollector<long>(meterFactory, "SafeRefs", "saferefs.cache.misses");

        provider.GetRequiredService<IMemoryCache>().TryGetValue("missing", out _);
        misses.RecordObservableInstruments(); // cache lookups are observed: collect them now

        Assert.Equal(1, misses.LastMeasurement?.Value);
        Assert.Equal("products", misses.LastMeasurement?.Tags["saferefs.cache.name"]);
        #endregion
    }

    [Fact]
    public void Diagnostics_InProcessListener_SeesWeakEventHandlers()
    {
        var eventName = "docs-" + Guid.NewGuid().ToString("N");
        long handlers = 0;
        #region docs-diagnostics-listener
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SafeRefsMeter.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (instrument.Name == "saferefs.weak_event.handler.count" && tag.Key == "saferefs.event.name" && (string?)tag.Value == eventName)
                {
                    // An observed instrument: each collection reports the current total, not a change.
                    Interlocked.Exchange(ref handlers, value);
                }
            }
        });
        listener.Start();

        // Observed instruments report when the listener collects them.
        listener.RecordObservableInstruments();
        #endregion

        var ev = new WeakEvent<int>(new WeakEventOptions { Name = eventName });
        var owner = new object();
        using (ev.Subscribe(owner, static (_, _, _) => { }))
        {
            listener.RecordObservableInstruments();
            Assert.Equal(1, Interlocked.Read(ref handlers));
        }

        listener.RecordObservableInstruments();
        Assert.Equal(0, Interlocked.Read(ref handlers));
        GC.KeepAlive(ev);
    }
}
