using System.Globalization;
using System.Runtime.CompilerServices;
using BitFaster.Caching.Lru;
using Microsoft.Extensions.Caching.Memory;
using SafeRefs.Caching;

namespace SafeRefs.Benchmarks.Caching;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/SafeRefs.Benchmarks -- cache-footprint [entries]</c>: measures
/// the managed bytes per resident entry (int keys, one shared value) of each cache filled to capacity, the fixed bytes
/// of an empty cache of capacity 10 000 000, and the share of writes stored under an insert flood of distinct keys
/// (10× the capacity of 10 000).
/// </summary>
public static class CacheFootprintCommand
{
    private static readonly object Value = new();

    public static int Run(string[] args)
    {
        var entries = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
        Console.WriteLine($"Bytes per resident entry (capacity {entries:N0}, filled, int keys, shared value):");
        Measure("SafeRefs BoundedLruCache", entries, static n => { var c = new BoundedLruCache<int, object>(n); for (var i = 0; i < n; i++) { c.Set(i, Value); } return c; });
        Measure("BitFaster ConcurrentLru", entries, static n => { var c = new ConcurrentLru<int, object>(n); for (var i = 0; i < n; i++) { c.AddOrUpdate(i, Value); } return c; });
        Measure("SafeRefs BoundedMemoryCache", entries, static n => { var c = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = n }); for (var i = 0; i < n; i++) { c.Set(i, Value); } return c; });
        Measure("MemoryCache (SizeLimit, Size=1)", entries, static n => { var c = new MemoryCache(new MemoryCacheOptions { SizeLimit = n }); var o = new MemoryCacheEntryOptions { Size = 1 }; for (var i = 0; i < n; i++) { c.Set(i, Value, o); } return c; });

        const int Huge = 10_000_000;
        Console.WriteLine();
        Console.WriteLine($"Fixed bytes of an empty cache of capacity {Huge:N0}:");
        MeasureFixed("SafeRefs BoundedLruCache", static () => new BoundedLruCache<int, object>(Huge));
        MeasureFixed("BitFaster ConcurrentLru", static () => new ConcurrentLru<int, object>(Huge));
        MeasureFixed("SafeRefs BoundedMemoryCache", static () => new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = Huge }));
        MeasureFixed("MemoryCache (SizeLimit, Size=1)", static () => new MemoryCache(new MemoryCacheOptions { SizeLimit = Huge }));

        const int Capacity = 10_000;
        const int Writes = 100_000;
        Console.WriteLine();
        Console.WriteLine($"Insert flood: {Writes:N0} distinct keys into capacity {Capacity:N0}; stored = readable right after Set:");
        Flood("SafeRefs BoundedLruCache", Writes, new BoundedLruCache<int, object>(Capacity), static (c, k) => c.Set(k, Value), static (c, k) => c.TryGet(k, out _), static c => c.Count);
        Flood("BitFaster ConcurrentLru", Writes, new ConcurrentLru<int, object>(Capacity), static (c, k) => c.AddOrUpdate(k, Value), static (c, k) => c.TryGet(k, out _), static c => c.Count);
        Flood("SafeRefs BoundedMemoryCache", Writes, new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = Capacity }), static (c, k) => c.Set(k, Value), static (c, k) => c.TryGetValue(k, out _), static c => c.Count);
        var sizeOne = new MemoryCacheEntryOptions { Size = 1 };
        Flood("MemoryCache (SizeLimit, Size=1)", Writes, new MemoryCache(new MemoryCacheOptions { SizeLimit = Capacity }), (c, k) => c.Set(k, Value, sizeOne), static (c, k) => c.TryGetValue(k, out _), static c => c.Count);
        return 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Measure(string name, int entries, Func<int, object> fill)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var cache = fill(entries);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine($"  {name,-34} {(after - before) / (double)entries,8:F1} B");
        GC.KeepAlive(cache);
        (cache as IDisposable)?.Dispose();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void MeasureFixed(string name, Func<object> create)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var cache = create();
        var after = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine($"  {name,-34} {after - before,12:N0} B");
        GC.KeepAlive(cache);
        (cache as IDisposable)?.Dispose();
    }

    private static void Flood<TCache>(string name, int writes, TCache cache, Action<TCache, int> set, Func<TCache, int, bool> get, Func<TCache, int> count)
    {
        var stored = 0;
        var maxCount = 0;
        for (var key = 0; key < writes; key++)
        {
            set(cache, key);
            if (get(cache, key))
            {
                stored++;
            }

            maxCount = Math.Max(maxCount, count(cache));
        }

        Console.WriteLine($"  {name,-34} stored {stored / (double)writes,8:P2}   max Count seen {maxCount:N0}");
        (cache as IDisposable)?.Dispose();
    }
}
