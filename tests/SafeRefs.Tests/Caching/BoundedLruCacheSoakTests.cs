using SafeRefs.Caching;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Caching;

[Collection(SoakCollection.Name)]
public sealed class BoundedLruCacheSoakTests
{
    private static readonly TimeSpan MidwayBound = TestTimeouts.Bound / 3;

    [Fact]
    public void Flood_ObserverNeverSeesCountAboveCapacity_AndEverySetIsReadableRightAfter()
    {
        const int Capacity = 1_000;
        const int Writers = 2;
        const int WritesPerWriter = 100_000;
        using var cache = new BoundedLruCache<long, long>(Capacity);
        using var start = new Barrier(Writers + 1);
        var done = 0;
        var maxSeen = 0;
        long samples = 0;
        var sampledMidway = 0;
        var missing = new System.Collections.Concurrent.ConcurrentBag<long>();
        var evicted = new System.Collections.Concurrent.ConcurrentDictionary<long, byte>();
        cache.Evicted += (_, e) => evicted.TryAdd(e.Key, 0);
        var observer = new Thread(() =>
        {
            start.SignalAndWaitBounded();
            while (Volatile.Read(ref done) < Writers)
            {
                var count = cache.Count;
                if (count > maxSeen)
                {
                    maxSeen = count;
                }

                Volatile.Write(ref samples, samples + 1);
            }
        });
        var writers = Enumerable.Range(0, Writers).Select(w => new Thread(() =>
        {
            start.SignalAndWaitBounded();
            for (long i = 0; i < WritesPerWriter; i++)
            {
                if (i == WritesPerWriter / 2)
                {
                    // Hold the writes until the observer has sampled in their middle: a loaded machine may schedule it
                    // only before or after the writes, and the round would check nothing. Bounded below the joins' bound,
                    // so a reader that never runs fails the guard, not the join with a writer still running.
                    var seen = Volatile.Read(ref samples);
                    if (SpinWait.SpinUntil(() => Volatile.Read(ref samples) > seen, MidwayBound))
                    {
                        Interlocked.Increment(ref sampledMidway);
                    }
                }

                var key = (w * (long)WritesPerWriter) + i;
                cache.Set(key, key);

                // Readable right after Set unless the other writer's later writes evicted it meanwhile.
                if (!cache.TryGet(key, out var back))
                {
                    missing.Add(key);
                }
                else if (back != key)
                {
                    missing.Add(-1);
                }
            }

            Interlocked.Increment(ref done);
        })).ToList();
        observer.Start();
        writers.ForEach(t => t.Start());
        writers.ForEach(t => t.JoinBounded());
        observer.JoinBounded();

        Assert.True(sampledMidway == Writers, "the observer did not sample in the middle of the writes");
        Assert.True(maxSeen <= Capacity, $"observer saw Count = {maxSeen} > {Capacity}");
        Assert.Equal(Capacity, cache.Count);
        Assert.All(missing, key => Assert.True(evicted.ContainsKey(key), $"key {key} vanished without being evicted"));
        Assert.True(missing.Count < WritesPerWriter / 10, $"{missing.Count} writes were not readable right after Set");
        Assert.Equal((long)Writers * WritesPerWriter - Capacity, cache.Statistics.Evictions);
    }

    [Fact]
    public void MixedTraffic_StaysConsistent()
    {
        const int Capacity = 64;
        using var cache = new BoundedLruCache<int, int>(Capacity);
        using var start = new Barrier(3);
        var failures = 0;
        var threads = Enumerable.Range(0, 3).Select(t => new Thread(() =>
        {
            var random = new Random(t);
            start.SignalAndWaitBounded();
            for (var i = 0; i < 50_000; i++)
            {
                var key = random.Next(200);
                switch (random.Next(4))
                {
                    case 0:
                        cache.Set(key, key * 2);
                        break;
                    case 1:
                        if (cache.GetOrAdd(key, k => k * 2) != key * 2)
                        {
                            Interlocked.Increment(ref failures);
                        }

                        break;
                    case 2:
                        cache.TryRemove(key, out _);
                        break;
                    default:
                        if (cache.TryGet(key, out var v) && v != key * 2)
                        {
                            Interlocked.Increment(ref failures);
                        }

                        break;
                }

                if (cache.Count > Capacity)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.JoinBounded());
        Assert.Equal(0, failures);
        Assert.True(cache.Count <= Capacity);
    }

    [Fact]
    public void ParityMembers_ConcurrentWithWrites_SnapshotsAreExactAndEventsBalance()
    {
        // Writers use every parity member; a reader takes snapshots. Each snapshot is one instant: distinct keys,
        // at most Capacity of them, each with a value its key can hold. Every update was reported once by Updated,
        // with both values of its key, and once by Evicted as Replaced.
        const int Capacity = 128; // 65 or more, so updates take the in-place path too
        const int Threads = 2;
        const int Steps = 40_000;
        using var cache = new BoundedLruCache<string, int>(Capacity);
        long left = 0;
        long replaced = 0;
        long updated = 0;
        long badUpdates = 0;
        cache.Evicted += (_, e) => Interlocked.Increment(ref e.Reason == CacheEvictionReason.Replaced ? ref replaced : ref left);
        cache.Updated += (_, e) =>
        {
            Interlocked.Increment(ref updated);
            if (e.OldValue % 1_000 != int.Parse(e.Key.AsSpan(1), provider: null) || e.NewValue % 1_000 != int.Parse(e.Key.AsSpan(1), provider: null))
            {
                Interlocked.Increment(ref badUpdates);
            }
        };
        using var start = new Barrier(Threads + 1);
        var done = 0;
        var snapshotFailures = 0;
        var snapshots = 0;
        var snapshotMidway = 0;
        var reader = new Thread(() =>
        {
            start.SignalAndWaitBounded();
            while (Volatile.Read(ref done) < Threads)
            {
                var pairs = cache.ToList();
                var keys = cache.Keys;
                if (pairs.Count > Capacity || keys.Count > Capacity || pairs.Select(p => p.Key).Distinct().Count() != pairs.Count
                    || keys.Distinct().Count() != keys.Count || pairs.Any(p => p.Value % 1_000 != int.Parse(p.Key.AsSpan(1), provider: null)))
                {
                    Interlocked.Increment(ref snapshotFailures);
                }

                Volatile.Write(ref snapshots, snapshots + 1);
            }
        });
        var writers = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            var random = new Random(t);
            var alternate = cache.GetAlternateLookup<ReadOnlySpan<char>>();
            start.SignalAndWaitBounded();
            for (var i = 0; i < Steps; i++)
            {
                if (i == Steps / 2)
                {
                    // Hold the writes until the reader has taken a snapshot in their middle (as the flood test does).
                    var seen = Volatile.Read(ref snapshots);
                    if (SpinWait.SpinUntil(() => Volatile.Read(ref snapshots) > seen, MidwayBound))
                    {
                        Interlocked.Increment(ref snapshotMidway);
                    }
                }

                var n = random.Next(200);
                var key = "k" + n;
                var value = (i * 1_000) + n; // value % 1000 identifies the key
                switch (random.Next(8))
                {
                    case 0:
                        cache.AddOrUpdate(key, value);
                        break;
                    case 1:
                        cache.TryUpdate(key, value);
                        break;
                    case 2:
                        cache.TryRemove(new KeyValuePair<string, int>(key, cache.TryGet(key, out var current) ? current : -1));
                        break;
                    case 3:
                        if (i % 64 == 0)
                        {
                            cache.Trim(random.Next(4));
                        }

                        break;
                    case 4:
                        alternate.AddOrUpdate(key.AsSpan(), value);
                        break;
                    case 5:
                        alternate.TryRemove(key.AsSpan(), out _, out _);
                        break;
                    case 6:
                        alternate.GetOrAdd(key.AsSpan(), static (k, v) => v, value);
                        break;
                    default:
                        cache.Set(key, value);
                        break;
                }
            }

            Interlocked.Increment(ref done);
        })).ToList();
        reader.Start();
        writers.ForEach(t => t.Start());
        writers.ForEach(t => t.JoinBounded());
        reader.JoinBounded();

        Assert.True(snapshotMidway == Threads, "the reader took no snapshot in the middle of the writes");
        Assert.Equal(0, snapshotFailures);
        Assert.Equal(0, badUpdates);
        Assert.Equal(replaced, updated);
        Assert.Equal(cache.Count, cache.Keys.Count);
        Assert.True(cache.Count <= Capacity);
    }
}
