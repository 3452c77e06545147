using Microsoft.Extensions.Caching.Memory;
using SafeRefs.Caching;

namespace SafeRefs.Tests.Caching;

/// <summary>
/// Differential against an exact LRU: at every capacity from 1 to 64, a key written and read back after d writes of
/// other keys (every d below the capacity) is still there, as an LRU keeps it. The history before each write reads
/// and rewrites resident keys (what a frequency policy would protect), the key written is sometimes a resident one (an
/// update), and the writes in between mix new keys with updates.
/// </summary>
public sealed class BoundedLruCacheReadBackTests
{
    private const int LargestCapacity = 64;

    public enum Cache
    {
        LruSetTryGet,
        LruGetOrAdd,
        MemorySetTryGetValue,
        MemoryGetOrCreate,
    }

    [Theory]
    [InlineData(Cache.LruSetTryGet)]
    [InlineData(Cache.LruGetOrAdd)]
    [InlineData(Cache.MemorySetTryGetValue)]
    [InlineData(Cache.MemoryGetOrCreate)]
    public void SmallCapacities_ReadBackAfterEveryDistanceBelowCapacity_HitsWheneverAnExactLruHits(Cache kind)
    {
        var misses = new List<string>();
        long readBacks = 0;
        for (var capacity = 1; capacity <= LargestCapacity; capacity++)
        {
            using var cache = Subject.Create(kind, capacity);
            var lru = new ExactLru(capacity);
            var random = new Random(capacity);
            var next = 0;

            // A resident set read several times: hot for a frequency policy, older than every write below for an LRU.
            for (var i = 0; i < capacity; i++)
            {
                Write(cache, lru, next++);
            }

            for (var distance = 0; distance < capacity; distance++)
            {
                for (var trial = 0; trial < 3; trial++)
                {
                    foreach (var resident in lru.Keys.Take(3).ToList())
                    {
                        Read(cache, lru, resident);
                        Read(cache, lru, resident);
                    }

                    // Set may write a resident key (an update); GetOrAdd writes only by creating.
                    var key = cache.WritesResidentKeys && trial == 1 ? lru.LeastRecent : next++;
                    Write(cache, lru, key);
                    var written = new HashSet<int> { key };
                    while (written.Count <= distance)
                    {
                        var other = cache.WritesResidentKeys && random.Next(3) == 0 ? lru.Keys.ElementAt(random.Next(lru.Count)) : next++;
                        if (written.Add(other))
                        {
                            Write(cache, lru, other);
                        }
                    }

                    readBacks++;
                    var lruHit = lru.Read(key);
                    var hit = cache.Read(key);
                    if (lruHit && !hit)
                    {
                        misses.Add($"capacity {capacity}, distance {distance}, trial {trial}");
                    }
                }
            }
        }

        Assert.True(misses.Count == 0, $"{misses.Count} of {readBacks} read-backs missed where an LRU hits, e.g. {string.Join("; ", misses.Take(5))}");
    }

    private static void Write(Subject cache, ExactLru lru, int key)
    {
        cache.Write(key);
        lru.Write(key);
    }

    private static void Read(Subject cache, ExactLru lru, int key)
    {
        _ = cache.Read(key);
        _ = lru.Read(key);
    }

    /// <summary>An exact LRU of <c>capacity</c> entries: reads and writes move their key to the front.</summary>
    private sealed class ExactLru(int capacity)
    {
        private readonly Dictionary<int, LinkedListNode<int>> _map = [];
        private readonly LinkedList<int> _order = new();

        public int Count => _map.Count;

        /// <summary>Gets the keys, most recently used first.</summary>
        public IEnumerable<int> Keys => _order;

        public int LeastRecent => _order.Last!.Value;

        public bool Read(int key)
        {
            if (!_map.TryGetValue(key, out var node))
            {
                return false;
            }

            _order.Remove(node);
            _order.AddFirst(node);
            return true;
        }

        public void Write(int key)
        {
            if (Read(key))
            {
                return;
            }

            if (_map.Count >= capacity)
            {
                _map.Remove(_order.Last!.Value);
                _order.RemoveLast();
            }

            _map[key] = _order.AddFirst(key);
        }
    }

    /// <summary>One cache and one way to write and read it back.</summary>
    private sealed class Subject : IDisposable
    {
        private readonly BoundedLruCache<int, int>? _lru;
        private readonly BoundedMemoryCache? _memory;
        private readonly bool _getOrAdd;

        private Subject(BoundedLruCache<int, int>? lru, BoundedMemoryCache? memory, bool getOrAdd)
        {
            _lru = lru;
            _memory = memory;
            _getOrAdd = getOrAdd;
        }

        public bool WritesResidentKeys => !_getOrAdd;

        public static Subject Create(Cache kind, int capacity) => kind switch
        {
            Cache.LruSetTryGet => new(new BoundedLruCache<int, int>(capacity), null, getOrAdd: false),
            Cache.LruGetOrAdd => new(new BoundedLruCache<int, int>(capacity), null, getOrAdd: true),
            Cache.MemorySetTryGetValue => new(null, new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = capacity }), getOrAdd: false),
            _ => new(null, new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = capacity }), getOrAdd: true),
        };

        public void Write(int key)
        {
            if (_getOrAdd)
            {
                _ = Read(key); // creates the key when it is absent
            }
            else if (_lru is not null)
            {
                _lru.Set(key, key);
            }
            else
            {
                _memory!.Set(key, key);
            }
        }

        /// <summary>Reads the key; with GetOrAdd, a miss creates it (as the LRU model's write does).</summary>
        public bool Read(int key)
        {
            if (!_getOrAdd)
            {
                return _lru is not null ? _lru.TryGet(key, out _) : _memory!.TryGetValue(key, out _);
            }

            var created = false;
            _ = _lru is not null
                ? _lru.GetOrAdd(key, k => { created = true; return k; })
                : _memory!.GetOrCreate(key, e => { created = true; return (int)e.Key; });
            return !created;
        }

        public void Dispose()
        {
            _lru?.Dispose();
            _memory?.Dispose();
        }
    }
}
