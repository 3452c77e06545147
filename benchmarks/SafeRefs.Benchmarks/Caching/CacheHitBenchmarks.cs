using BenchmarkDotNet.Attributes;
using BitFaster.Caching.Lru;
using Microsoft.Extensions.Caching.Memory;
using SafeRefs.Caching;

namespace SafeRefs.Benchmarks.Caching;

/// <summary>Latency of a cache hit (int key, capacity 10 000, full cache); baseline BitFaster <c>ConcurrentLru</c>.</summary>
[MemoryDiagnoser]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "BenchmarkDotNet disposes in [GlobalCleanup]; benchmark classes must not be sealed.")]
public class CacheHitBenchmarks
{
    private const int Capacity = 10_000;
    private const int Key = 4_242;
    private static readonly object Value = new();
    private readonly object _boxedKey = Key;
    private BoundedLruCache<int, object> _bounded = null!;
    private ConcurrentLru<int, object> _lru = null!;
    private MemoryCache _memoryCache = null!;
    private BoundedMemoryCache _boundedMemory = null!;

    [GlobalSetup]
    public void Setup()
    {
        _bounded = new BoundedLruCache<int, object>(Capacity);
        _lru = new ConcurrentLru<int, object>(Capacity);
        _memoryCache = new MemoryCache(new MemoryCacheOptions { SizeLimit = Capacity });
        _boundedMemory = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = Capacity });
        var sizeOne = new MemoryCacheEntryOptions { Size = 1 };
        for (var i = 0; i < Capacity; i++)
        {
            _bounded.Set(i, Value);
            _lru.AddOrUpdate(i, Value);
            _memoryCache.Set(i, Value, sizeOne);
            _boundedMemory.Set(i, Value);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _bounded.Dispose();
        _memoryCache.Dispose();
        _boundedMemory.Dispose();
    }

    [Benchmark(Baseline = true)]
    public bool ConcurrentLru_TryGet() => _lru.TryGet(Key, out _);

    [Benchmark]
    public bool BoundedLruCache_TryGet() => _bounded.TryGet(Key, out _);

    [Benchmark]
    public bool MemoryCache_TryGetValue() => _memoryCache.TryGetValue(Key, out _);

    [Benchmark]
    public bool BoundedMemoryCache_TryGetValue() => _boundedMemory.TryGetValue(Key, out _);

    [Benchmark]
    public bool MemoryCache_TryGetValue_PreboxedKey() => _memoryCache.TryGetValue(_boxedKey, out _);

    [Benchmark]
    public bool BoundedMemoryCache_TryGetValue_PreboxedKey() => _boundedMemory.TryGetValue(_boxedKey, out _);
}
