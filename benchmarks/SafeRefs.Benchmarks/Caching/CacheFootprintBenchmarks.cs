using BenchmarkDotNet.Attributes;
using BitFaster.Caching.Lru;
using Microsoft.Extensions.Caching.Memory;
using SafeRefs.Caching;

namespace SafeRefs.Benchmarks.Caching;

/// <summary>
/// Footprint rows, read in the Allocated column: <c>*_Empty_Capacity10M</c> is the fixed cost of a cache of capacity
/// 10 000 000 before its first write; <c>*_PerEntry</c> fills a fresh cache of that capacity with 10 000 entries (int
/// keys, one shared value), so its Allocated per operation is the bytes allocated per entry, the fixed cost spread
/// over the entries included (and the index growth as it fills). The <c>cache-footprint</c> command measures the
/// retained bytes per entry of full caches instead. Baseline BitFaster <c>ConcurrentLru</c>.
/// </summary>
[MemoryDiagnoser]
public class CacheFootprintBenchmarks
{
    private const int Capacity = 10_000_000;
    private const int Entries = 10_000;
    private static readonly object Value = new();
    private static readonly MemoryCacheEntryOptions SizeOne = new() { Size = 1 };

    [Benchmark(Baseline = true)]
    public object ConcurrentLru_Empty_Capacity10M() => new ConcurrentLru<int, object>(Capacity);

    [Benchmark]
    public object BoundedLruCache_Empty_Capacity10M()
    {
        var cache = new BoundedLruCache<int, object>(Capacity);
        cache.Dispose();
        return cache;
    }

    [Benchmark]
    public object BoundedMemoryCache_Empty_Capacity10M()
    {
        var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = Capacity });
        cache.Dispose();
        return cache;
    }

    [Benchmark]
    public object MemoryCache_Empty_SizeLimit10M()
    {
        var cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = Capacity });
        cache.Dispose();
        return cache;
    }

    [Benchmark(OperationsPerInvoke = Entries)]
    public object ConcurrentLru_PerEntry()
    {
        var cache = new ConcurrentLru<int, object>(Capacity);
        for (var i = 0; i < Entries; i++)
        {
            cache.AddOrUpdate(i, Value);
        }

        return cache;
    }

    [Benchmark(OperationsPerInvoke = Entries)]
    public object BoundedLruCache_PerEntry()
    {
        var cache = new BoundedLruCache<int, object>(Capacity);
        for (var i = 0; i < Entries; i++)
        {
            cache.Set(i, Value);
        }

        cache.Dispose();
        return cache;
    }

    [Benchmark(OperationsPerInvoke = Entries)]
    public object BoundedMemoryCache_PerEntry()
    {
        var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = Capacity });
        for (var i = 0; i < Entries; i++)
        {
            cache.Set(i, Value);
        }

        cache.Dispose();
        return cache;
    }

    [Benchmark(OperationsPerInvoke = Entries)]
    public object MemoryCache_PerEntry()
    {
        var cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = Capacity });
        for (var i = 0; i < Entries; i++)
        {
            cache.Set(i, Value, SizeOne);
        }

        cache.Dispose();
        return cache;
    }
}
