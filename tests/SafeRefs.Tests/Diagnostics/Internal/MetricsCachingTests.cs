using System.Diagnostics.Metrics;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Caching;
using SafeRefs.Diagnostics;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Diagnostics.Internal;

/// <summary>Hits, misses and evictions are observed instruments over the caches' own exact counters (review A-M5).</summary>
public sealed class MetricsCachingTests
{
    private static readonly string[] Observed = ["saferefs.cache.hits", "saferefs.cache.misses", "saferefs.cache.evictions"];

    [Fact]
    public void Lookups_WhileListenedTo_RecordNothingUntilCollected_ThenTheExactTotals()
    {
        var time = new FakeTimeProvider();
        using var meterFactory = new TestMeterFactory();
        using var recorder = new Recorder(meterFactory);
        using var cache = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int>
        {
            Capacity = 4,
            Name = "observed",
            MeterFactory = meterFactory,
            ExpireAfterWrite = TimeSpan.FromSeconds(10),
            ExpirationScanInterval = TimeSpan.FromDays(1), // expired entries leave only when a lookup finds them
            TimeProvider = time,
        });
        Assert.Equal(Observed.Order(), recorder.Enabled.Order()); // the listener is on before the traffic

        for (var i = 0; i < 1_000; i++)
        {
            cache.Set(i % 10, i);        // 10 keys through 4 places: capacity evictions
            cache.TryGet(i % 10, out _); // hits
            cache.TryGet(-1, out _);     // misses
        }

        cache.Set(100, 100);
        time.Advance(TimeSpan.FromSeconds(11));
        Assert.False(cache.TryGet(100, out _)); // an expired entry found by a lookup: an expiry eviction

        // A per-lookup counter would have delivered about 2 000 measurements by now.
        Assert.Empty(recorder.Measurements);

        recorder.Collect();

        var statistics = cache.Statistics;
        Assert.Equal(statistics.Hits, recorder.Single("saferefs.cache.hits", "observed"));
        Assert.Equal(statistics.Misses, recorder.Single("saferefs.cache.misses", "observed"));
        Assert.Equal(statistics.Evictions - 1, recorder.Single("saferefs.cache.evictions", "observed", "capacity"));
        Assert.Equal(1, recorder.Single("saferefs.cache.evictions", "observed", "expired"));
        Assert.Equal(0, recorder.Single("saferefs.cache.evictions", "observed", "weight"));
        Assert.Equal(1_000, statistics.Hits);
        Assert.Equal(1_001, statistics.Misses);
    }

    [Fact]
    public void CachesSharingAName_AreSummedIntoOneSeries()
    {
        using var meterFactory = new TestMeterFactory();
        using var recorder = new Recorder(meterFactory);
        using var a = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int> { Capacity = 4, Name = "shared", MeterFactory = meterFactory });
        using var b = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int> { Capacity = 4, Name = "shared", MeterFactory = meterFactory });
        using var other = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int> { Capacity = 4, Name = "other", MeterFactory = meterFactory });
        a.Set(1, 1);
        b.Set(1, 1);
        Assert.True(a.TryGet(1, out _));
        Assert.True(b.TryGet(1, out _));
        Assert.True(b.TryGet(1, out _));
        Assert.False(other.TryGet(1, out _));

        recorder.Collect();

        Assert.Equal(3, recorder.Single("saferefs.cache.hits", "shared"));
        Assert.Equal(0, recorder.Single("saferefs.cache.hits", "other"));
        Assert.Equal(1, recorder.Single("saferefs.cache.misses", "other"));
    }

    /// <summary>A <see cref="MeterListener"/> on one factory's SafeRefs meter, for the observed cache instruments.</summary>
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<(string Instrument, long Value, string? Name, string? Reason)> _measurements = [];

        public Recorder(TestMeterFactory factory)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == SafeRefsMeter.Name && ReferenceEquals(instrument.Meter.Scope, factory) && Observed.Contains(instrument.Name))
                {
                    lock (Enabled)
                    {
                        Enabled.Add(instrument.Name);
                    }

                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                string? name = null;
                string? reason = null;
                foreach (var tag in tags)
                {
                    name = tag.Key == "saferefs.cache.name" ? tag.Value as string : name;
                    reason = tag.Key == "saferefs.cache.eviction.reason" ? tag.Value as string : reason;
                }

                lock (_measurements)
                {
                    _measurements.Add((instrument.Name, value, name, reason));
                }
            });
            _listener.Start();
        }

        /// <summary>Gets the instruments this recorder listens to (once the first cache of the factory created them).</summary>
        public HashSet<string> Enabled { get; } = [];

        public List<(string Instrument, long Value, string? Name, string? Reason)> Measurements
        {
            get
            {
                lock (_measurements)
                {
                    return [.. _measurements];
                }
            }
        }

        public void Collect() => _listener.RecordObservableInstruments();

        /// <summary>The one measurement of an instrument for a cache name (and reason).</summary>
        public long Single(string instrument, string name, string? reason = null)
            => Assert.Single(Measurements, m => m.Instrument == instrument && m.Name == name && m.Reason == reason).Value;

        public void Dispose() => _listener.Dispose();
    }
}
