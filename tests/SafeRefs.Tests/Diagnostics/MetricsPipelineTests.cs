using System.Diagnostics.Metrics;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using SafeRefs.Caching;
using SafeRefs.Diagnostics;

namespace SafeRefs.Tests.Diagnostics;

/// <summary>AddSafeRefs' enable rule reaches a listener of the DI metrics pipeline, for the container's meter.</summary>
public sealed class MetricsPipelineTests
{
    [Fact]
    public void AddSafeRefs_ListenerOfTheContainer_ReceivesContainerMeterMeasurements()
    {
        var name = "pipeline-" + Guid.NewGuid().ToString("N");
        var services = new ServiceCollection();
        services.AddMetrics(b => b.AddListener<RecordingListener>().AddSafeRefs());
        services.AddBoundedMemoryCache(o => o.Name = name);
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();   // what a host does at start: starts the pipeline
        var listener = provider.GetServices<IMetricsListener>().OfType<RecordingListener>().Single();

        Assert.False(provider.GetRequiredService<IMemoryCache>().TryGetValue("x", out _));

        Assert.Contains(listener.Snapshot(), m => m.Instrument == "saferefs.cache.misses" && m.CacheName == name && m.FromContainer);
    }

    [Fact]
    public void WithoutAddSafeRefs_ListenerOfTheContainer_ReceivesNothing()
    {
        var name = "pipeline-off-" + Guid.NewGuid().ToString("N");
        var services = new ServiceCollection();
        services.AddMetrics(b => b.AddListener<RecordingListener>());
        services.AddBoundedMemoryCache(o => o.Name = name);
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        var listener = provider.GetServices<IMetricsListener>().OfType<RecordingListener>().Single();

        Assert.False(provider.GetRequiredService<IMemoryCache>().TryGetValue("x", out _));

        Assert.DoesNotContain(listener.Snapshot(), m => m.CacheName == name);
    }

    private sealed class RecordingListener : IMetricsListener
    {
        private readonly List<(string Instrument, string? CacheName, bool FromContainer)> _measurements = [];
        private IObservableInstrumentsSource? _source;

        public string Name => "recording";

        public void Initialize(IObservableInstrumentsSource source) => _source = source;

        public bool InstrumentPublished(Instrument instrument, out object? userState)
        {
            userState = null;
            return instrument.Meter.Name == SafeRefsMeter.Name;
        }

        public void MeasurementsCompleted(Instrument instrument, object? userState)
        {
        }

        public MeasurementHandlers GetMeasurementHandlers() => new()
        {
            LongHandler = (instrument, _, tags, _) =>
            {
                string? cacheName = null;
                foreach (var tag in tags)
                {
                    if (tag.Key == "saferefs.cache.name")
                    {
                        cacheName = tag.Value as string;
                    }
                }

                lock (_measurements)
                {
                    _measurements.Add((instrument.Name, cacheName, instrument.Meter.Scope is not null));
                }
            },
        };

        /// <summary>Collects the observed instruments (cache lookups are observed), then returns what was recorded.</summary>
        public List<(string Instrument, string? CacheName, bool FromContainer)> Snapshot()
        {
            _source?.RecordObservableInstruments();
            lock (_measurements)
            {
                return [.. _measurements];
            }
        }
    }
}
