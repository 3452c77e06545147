using System.Globalization;
using BitFaster.Caching.Lfu;
using BitFaster.Caching.Lru;
using BitFaster.Caching.Scheduler;
using Microsoft.Extensions.Caching.Memory;
using SafeRefs.Caching;

namespace SafeRefs.Benchmarks.Caching;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/SafeRefs.Benchmarks -- hit-ratio [requests] [keys] [capacity]</c>:
/// replays four deterministic traces (default 1 000 000 requests over 100 000 keys, capacity 10 000) through each
/// cache (read; on a miss, write) and prints the hit ratios: Zipf(0.9), Zipf(0.7), Zipf(0.9) with ten bursts of
/// one-time keys (twice the capacity each), and a loop (keys 0 … 1.5 × capacity − 1 requested in order, over and
/// over, where an LRU scores 0). A count, not a timing: the figures do not depend on the machine.
/// </summary>
public static class HitRatioCommand
{
    public static int Run(string[] args)
    {
        var requests = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var keys = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000;
        var capacity = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 10_000;
        var zipf = ZipfTrace.Create(requests, keys, 0.9, seed: 42);
        int[][] traces =
        [
            zipf,
            ZipfTrace.Create(requests, keys, 0.7, seed: 42),
            ZipfTrace.WithScans(zipf, bursts: 10, burstLength: 2 * capacity, firstOneTimeKey: keys + 1),
            Loop(requests, capacity + (capacity / 2)),
            ZipfTrace.RecencyBiased(requests, reuse: 0.7, meanDistance: (4 * capacity) / 5, seed: 7),
        ];

        Console.WriteLine($"{requests:N0} requests over {keys:N0} keys, capacity {capacity:N0}; scans: 10 bursts of {2 * capacity:N0} one-time keys; loop over {capacity + (capacity / 2):N0} keys");
        Console.WriteLine();
        Console.WriteLine("| cache | Zipf 0.9 | Zipf 0.7 | Zipf 0.9 + scans | loop (1.5 × capacity) | recency-biased |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        Report("SafeRefs `BoundedLruCache`", capacity, traces, static c => new BoundedLruAdapter(c));
        Report("BitFaster `ConcurrentLfu` (W-TinyLFU)", capacity, traces, static c => new ConcurrentLfuAdapter(c));
        Report("BitFaster `ConcurrentLru`", capacity, traces, static c => new ConcurrentLruAdapter(c));
        Report("SafeRefs `BoundedMemoryCache`", capacity, traces, static c => new MemoryCacheAdapter(new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = c })));
        Report("`MemoryCache` (SizeLimit, Size = 1)", capacity, traces, static c => new MemoryCacheAdapter(new MemoryCache(new MemoryCacheOptions { SizeLimit = c })));
        Report("exact LRU (reference)", capacity, traces, static c => new ExactLru(c));
        return 0;
    }

    /// <summary>Keys 0 … <paramref name="keys"/> − 1 in order, repeated.</summary>
    private static int[] Loop(int requests, int keys)
    {
        var trace = new int[requests];
        for (var i = 0; i < requests; i++)
        {
            trace[i] = i % keys;
        }

        return trace;
    }

    private static void Report(string name, int capacity, int[][] traces, Func<int, ICacheAdapter> create)
    {
        var cells = traces.Select(trace => Replay(create(capacity), trace).ToString("P2", CultureInfo.InvariantCulture));
        Console.WriteLine($"| {name} | {string.Join(" | ", cells)} |");
    }

    private static double Replay(ICacheAdapter cache, int[] trace)
    {
        long hits = 0;
        foreach (var key in trace)
        {
            if (cache.TryGet(key))
            {
                hits++;
            }
            else
            {
                cache.Set(key);
            }
        }

        cache.Dispose();
        return (double)hits / trace.Length;
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

    private sealed class ConcurrentLfuAdapter(int capacity) : ICacheAdapter
    {
        // Maintenance in the foreground after every request: the policy sees every read and write, in order (its best
        // case; by default reads are buffered, lossily, and replayed on the thread pool).
        private readonly ConcurrentLfu<int, object> _cache = new(1, capacity, new ForegroundScheduler(), EqualityComparer<int>.Default);

        public bool TryGet(int key)
        {
            var hit = _cache.TryGet(key, out _);
            _cache.DoMaintenance();
            return hit;
        }

        public void Set(int key)
        {
            _cache.AddOrUpdate(key, Value);
            _cache.DoMaintenance();
        }

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
