using System.Globalization;
using BitFaster.Caching.Lru;
using Microsoft.Extensions.Caching.Memory;
using SafeRefs.Caching;

namespace SafeRefs.Benchmarks.Caching;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/SafeRefs.Benchmarks -- hit-ratio [requests] [keys] [capacity]</c>:
/// replays a Zipf(0.9) trace (default 1 000 000 requests over 100 000 keys, capacity 10 000), then the same trace
/// with ten bursts of one-time keys (twice the capacity each), through each cache (read; on a miss, write) and
/// prints the hit ratios.
/// </summary>
public static class HitRatioCommand
{
    public static int Run(string[] args)
    {
        var requests = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var keys = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000;
        var capacity = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 10_000;
        var zipf = ZipfTrace.Create(requests, keys, 0.9, seed: 42);
        var scan = ZipfTrace.WithScans(zipf, bursts: 10, burstLength: 2 * capacity, firstOneTimeKey: keys + 1);

        Console.WriteLine($"Zipf(0.9), {requests:N0} requests over {keys:N0} keys, capacity {capacity:N0}; scan trace adds 10 bursts of {2 * capacity:N0} one-time keys");
        Console.WriteLine($"{"cache",-34} {"zipf",8} {"zipf+scan",10} {"zipf keys only (scan trace)",28}");
        Report("SafeRefs BoundedLruCache", capacity, zipf, scan, keys, static c => new BoundedLruAdapter(c));
        Report("BitFaster ConcurrentLru", capacity, zipf, scan, keys, static c => new ConcurrentLruAdapter(c));
        Report("SafeRefs BoundedMemoryCache", capacity, zipf, scan, keys, static c => new MemoryCacheAdapter(new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = c })));
        Report("MemoryCache (SizeLimit, Size=1)", capacity, zipf, scan, keys, static c => new MemoryCacheAdapter(new MemoryCache(new MemoryCacheOptions { SizeLimit = c })));
        Report("exact LRU (reference)", capacity, zipf, scan, keys, static c => new ExactLru(c));
        return 0;
    }

    private static void Report(string name, int capacity, int[] zipf, int[] scan, int keys, Func<int, ICacheAdapter> create)
    {
        var plain = Replay(create(capacity), zipf, keys);
        var scanned = Replay(create(capacity), scan, keys);
        Console.WriteLine($"{name,-34} {plain.All,8:P2} {scanned.All,10:P2} {scanned.ZipfOnly,28:P2}");
    }

    private static (double All, double ZipfOnly) Replay(ICacheAdapter cache, int[] trace, int keys)
    {
        long hits = 0;
        long zipfHits = 0;
        long zipfRequests = 0;
        foreach (var key in trace)
        {
            var isZipf = key < keys;
            zipfRequests += isZipf ? 1 : 0;
            if (cache.TryGet(key))
            {
                hits++;
                zipfHits += isZipf ? 1 : 0;
            }
            else
            {
                cache.Set(key);
            }
        }

        cache.Dispose();
        return ((double)hits / trace.Length, (double)zipfHits / zipfRequests);
    }

    private interface ICacheAdapter : IDisposable
    {
        bool TryGet(int key);

        void Set(int key);
    }

    private static readonly object Value = new();

    private sealed class BoundedLruAdapter(int capacity) : ICacheAdapter
    {
        private readonly BoundedLruCache<int, object> _cache = new(capacity);

        public bool TryGet(int key) => _cache.TryGet(key, out _);

        public void Set(int key) => _cache.Set(key, Value);

        public void Dispose() => _cache.Dispose();
    }

    private sealed class ConcurrentLruAdapter(int capacity) : ICacheAdapter
    {
        private readonly ConcurrentLru<int, object> _cache = new(capacity);

        public bool TryGet(int key) => _cache.TryGet(key, out _);

        public void Set(int key) => _cache.AddOrUpdate(key, Value);

        public void Dispose()
        {
        }
    }

    private sealed class MemoryCacheAdapter(IMemoryCache cache) : ICacheAdapter
    {
        private static readonly MemoryCacheEntryOptions SizeOne = new() { Size = 1 };

        public bool TryGet(int key) => cache.TryGetValue(key, out _);

        public void Set(int key) => cache.Set(key, Value, SizeOne);

        public void Dispose() => cache.Dispose();
    }

    private sealed class ExactLru(int capacity) : ICacheAdapter
    {
        private readonly Dictionary<int, LinkedListNode<int>> _map = [];
        private readonly LinkedList<int> _order = new();

        public bool TryGet(int key)
        {
            if (!_map.TryGetValue(key, out var node))
            {
                return false;
            }

            _order.Remove(node);
            _order.AddFirst(node);
            return true;
        }

        public void Set(int key)
        {
            if (_map.Count >= capacity)
            {
                var last = _order.Last!;
                _order.RemoveLast();
                _map.Remove(last.Value);
            }

            _map[key] = _order.AddFirst(key);
        }

        public void Dispose()
        {
        }
    }
}
