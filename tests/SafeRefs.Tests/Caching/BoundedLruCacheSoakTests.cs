using SafeRefs.Caching;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Caching;

[Collection(SoakCollection.Name)]
public sealed class BoundedLruCacheSoakTests
{
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
        var missing = new System.Collections.Concurrent.ConcurrentBag<long>();
        var evicted = new System.Collections.Concurrent.ConcurrentDictionary<long, byte>();
        cache.Evicted += (_, e) => evicted.TryAdd(e.Key, 0);
        var observer = new Thread(() =>
        {
            start.SignalAndWait();
            while (Volatile.Read(ref done) < Writers)
            {
                var count = cache.Count;
                if (count > maxSeen)
                {
                    maxSeen = count;
                }

                samples++;
            }
        });
        var writers = Enumerable.Range(0, Writers).Select(w => new Thread(() =>
        {
            start.SignalAndWait();
            for (long i = 0; i < WritesPerWriter; i++)
            {
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
        writers.ForEach(t => t.Join());
        observer.Join();

        Assert.True(samples > 0);
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
            start.SignalAndWait();
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
        threads.ForEach(t => t.Join());
        Assert.Equal(0, failures);
        Assert.True(cache.Count <= Capacity);
    }
}
