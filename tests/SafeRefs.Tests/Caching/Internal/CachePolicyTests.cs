using SafeRefs.Caching.Internal;

namespace SafeRefs.Tests.Caching.Internal;

public sealed class CachePolicyTests
{
    [Fact]
    public void Evict_EveryEntryHot_GivesAtMostABoundedNumberOfSecondChances()
    {
        // A CLOCK whose entries are all at the top counter would otherwise walk the whole queue three times under the
        // cache's lock for one insert.
        var policy = new CachePolicy<int, int>(10_000);
        var nodes = new List<CacheNode<int, int>>();
        for (var i = 0; i < 10_000; i++)
        {
            nodes.Add(new CacheNode<int, int>(i, i, i));
        }

        var sketch = new FrequencySketch();
        foreach (var node in nodes)
        {
            policy.Insert(node, sketch, nodes.Count);
        }

        foreach (var node in nodes)
        {
            node.Frequency = 3;
        }

        var (victim, expired) = policy.Evict(sketch, 10_000, now: null);
        Assert.False(expired);
        Assert.Equal(0, victim.Queue);
        var touched = nodes.Count(n => n.Frequency != 3 && !ReferenceEquals(n, victim));
        Assert.True(touched <= CachePolicy<int, int>.MaxSecondChances, $"{touched} entries moved for one eviction");
        Assert.Equal(9_999, policy.Count);
    }

    [Fact]
    public void GhostFilter_FollowsTheResidentCount_AndClearShrinksIt()
    {
        var ghost = new GhostFilter(100_000_000);
        Assert.True(ghost.Bytes <= 64, $"{ghost.Bytes} bytes before any eviction");
        for (var i = 0; i < 1_000_000; i++)
        {
            ghost.Add(i, remembered: 10_000);
        }

        // Two generations of about 5 000 keys at 32 bits each, plus the spare being cleared: tens of kilobytes.
        Assert.True(ghost.Bytes <= 3 * 8192 * 4, $"{ghost.Bytes} bytes for 10 000 resident entries");
        Assert.True(ghost.Contains(999_999));
        ghost.Clear();
        Assert.False(ghost.Contains(999_999));
        Assert.True(ghost.Bytes <= 64);
    }

    [Fact]
    public void Loop_OverMoreKeysThanTheCacheHolds_KeepsHittingWhereAnLruNeverHits()
    {
        // Keys 0 … 1.5 × capacity − 1 in order, again and again: an LRU (and a plain FIFO) always evicts the key that
        // comes next. The admission test keeps what the cache holds, so about two thirds of the requests hit.
        using var cache = new SafeRefs.Caching.BoundedLruCache<int, int>(1_000);
        var hits = 0;
        for (var i = 0; i < 60_000; i++)
        {
            var key = i % 1_500;
            if (cache.TryGet(key, out _))
            {
                hits++;
            }
            else
            {
                cache.Set(key, key);
            }
        }

        Assert.True(hits > 60_000 * 0.55, $"{hits} of 60 000 requests hit");
    }

    [Fact]
    public void Window_RecencyBiasedTraffic_GrowsAndHitsAlmostAsAnLru()
    {
        // Most requests repeat a key requested a little earlier (further back than the smallest window): keys turned
        // away by the window come back, so the window grows, and the cache serves the traffic nearly as an LRU does.
        var random = new Random(3);
        var trace = new int[200_000];
        var next = 0;
        for (var i = 0; i < trace.Length; i++)
        {
            trace[i] = i > 0 && random.NextDouble() < 0.7
                ? trace[Math.Max(0, i - 1 - (int)(-Math.Log(1 - random.NextDouble()) * 800))]
                : next++;
        }

        using var cache = new SafeRefs.Caching.BoundedLruCache<int, int>(1_000);
        var lru = new LinkedList<int>();
        var lruIndex = new Dictionary<int, LinkedListNode<int>>();
        int hits = 0, lruHits = 0;
        foreach (var key in trace)
        {
            if (cache.TryGet(key, out _))
            {
                hits++;
            }
            else
            {
                cache.Set(key, key);
            }

            if (lruIndex.Remove(key, out var node))
            {
                lruHits++;
                lru.Remove(node);
            }
            else if (lru.Count == 1_000)
            {
                lruIndex.Remove(lru.Last!.Value);
                lru.RemoveLast();
            }

            lruIndex[key] = lru.AddFirst(key);
        }

        Assert.True(hits > lruHits * 0.9, $"{hits} hits, an LRU {lruHits}");
    }
}
