using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using SafeRefs.Caching;
using SafeRefs.Events;

namespace SafeRefs.Benchmarks.Diagnostics;

/// <summary>
/// What SafeRefs metrics cost: the same operation on a primitive whose meter nobody listens to (baseline) and on one
/// whose meter a <see cref="MeterListener"/> listens to (a no-op callback). The two primitives use different meters
/// (the static fallback, and one from a private <see cref="IMeterFactory"/>), so listening to one leaves the other off.
/// </summary>
[MemoryDiagnoser]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "BenchmarkDotNet disposes in [GlobalCleanup]; benchmark classes must not be sealed.")]
public class MetricsOverheadBenchmarks
{
    private const int Key = 42;
    private readonly Owner _owner = new();
    private BenchMeterFactory _factory = null!;
    private MeterListener _listener = null!;
    private BoundedLruCache<int, int> _quietCache = null!;
    private BoundedLruCache<int, int> _listenedCache = null!;
    private WeakEvent<int> _quietEvent = null!;
    private WeakEvent<int> _listenedEvent = null!;

    [GlobalSetup]
    public void Setup()
    {
        _factory = new BenchMeterFactory();
        _quietCache = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int> { Capacity = 1_000, Name = "quiet" });
        _listenedCache = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int> { Capacity = 1_000, Name = "listened", MeterFactory = _factory });
        _quietCache.Set(Key, 1);
        _listenedCache.Set(Key, 1);
        _quietEvent = new WeakEvent<int>(new WeakEventOptions { Name = "quiet" });
        _listenedEvent = new WeakEvent<int>(new WeakEventOptions { Name = "listened", MeterFactory = _factory });
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, _factory))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>(static (_, _, _, _) => { });
        _listener.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _listener.Dispose();
        _quietCache.Dispose();
        _listenedCache.Dispose();
        _factory.Dispose();
    }

    [Benchmark(Baseline = true)]
    public bool CacheHit_NotListened() => _quietCache.TryGet(Key, out _);

    [Benchmark]
    public bool CacheHit_Listened() => _listenedCache.TryGet(Key, out _);

    [Benchmark]
    public void WeakEventSubscribeDispose_NotListened() => _quietEvent.Subscribe(_owner, static (_, _, _) => { }).Dispose();

    [Benchmark]
    public void WeakEventSubscribeDispose_Listened() => _listenedEvent.Subscribe(_owner, static (_, _, _) => { }).Dispose();

    private sealed class Owner
    {
    }

    /// <summary>A minimal factory: one meter per Create, scoped to the factory, disposed with it.</summary>
    private sealed class BenchMeterFactory : IMeterFactory
    {
        private readonly List<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
            _meters.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            foreach (var meter in _meters)
            {
                meter.Dispose();
            }
        }
    }
}
