using Microsoft.Extensions.Caching.Memory;
using SafeRefs.Caching;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Caching;

[Collection(SoakCollection.Name)]
public sealed class BoundedMemoryCacheSoakTests
{
    [Fact]
    public async Task ConcurrentSets_PlainAndWithCallbacks_EveryCallbackRunsExactlyOnce()
    {
        // Plain values are swapped in place without the lock; entries with callbacks take the locked path. A race
        // between the two must never overwrite an entry with a callback unseen, nor report one twice.
        const int Writers = 2;
        const int WritesPerWriter = 20_000;
        const int Keys = 8;
        // Capacity 65 or more: smaller caches take the lock for every write (to keep write order).
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 100 });
        var registered = 0;
        var called = new int[Writers * WritesPerWriter];
        var duplicates = 0;
        var overBound = 0;
        var allCalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var expected = -1;
        var total = 0;
        PostEvictionDelegate callback = (_, _, _, state) =>
        {
            if (Interlocked.Increment(ref called[(int)state!]) != 1)
            {
                Interlocked.Increment(ref duplicates);
            }

            if (Interlocked.Increment(ref total) == Volatile.Read(ref expected))
            {
                allCalled.TrySetResult();
            }
        };
        using var start = new Barrier(Writers);
        var threads = Enumerable.Range(0, Writers).Select(w => new Thread(() =>
        {
            start.SignalAndWaitBounded();
            for (var i = 0; i < WritesPerWriter; i++)
            {
                var key = (i * 7 + w) % Keys;
                if (i % 3 == 0)
                {
                    Interlocked.Increment(ref registered);
                    var id = w * WritesPerWriter + i;
                    cache.Set(key, id, new MemoryCacheEntryOptions().RegisterPostEvictionCallback(callback, id));
                }
                else
                {
                    cache.Set(key, -1);
                }

                if (cache.Count > Keys)
                {
                    Interlocked.Increment(ref overBound);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.JoinBounded());
        cache.Clear();
        Volatile.Write(ref expected, registered);
        if (Volatile.Read(ref total) == registered)
        {
            allCalled.TrySetResult();
        }

        await allCalled.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, Volatile.Read(ref duplicates));
        Assert.Equal(0, overBound);
        Assert.Equal(registered, Volatile.Read(ref total));
    }

    [Fact]
    public void ConcurrentSets_SharedKeysWithinCapacity_EverySetIsReadableRightAfter_ObserverNeverSeesCountAboveCapacity()
    {
        // Keys fit the capacity, so nothing is evicted: a Set that returned must be readable at once, whether it took
        // the lock-free in-place path or raced with the other writer replacing the node (entries with callbacks).
        const int Capacity = 100; // 65 or more, so plain values take the in-place path
        const int Writers = 2;
        const int WritesPerWriter = 50_000;
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = Capacity });
        using var start = new Barrier(Writers + 1);
        var done = 0;
        var maxSeen = 0;
        var unreadable = 0;
        var observer = new Thread(() =>
        {
            start.SignalAndWaitBounded();
            while (Volatile.Read(ref done) < Writers)
            {
                maxSeen = Math.Max(maxSeen, cache.Count);
            }
        });
        var writers = Enumerable.Range(0, Writers).Select(w => new Thread(() =>
        {
            start.SignalAndWaitBounded();
            for (var i = 0; i < WritesPerWriter; i++)
            {
                var key = (i * 31 + w) % Capacity;
                if (i % 7 == 0)
                {
                    cache.Set(key, i, new MemoryCacheEntryOptions().RegisterPostEvictionCallback(static (_, _, _, _) => { }));
                }
                else
                {
                    cache.Set(key, i);
                }

                if (!cache.TryGetValue(key, out _))
                {
                    Interlocked.Increment(ref unreadable);
                }
            }

            Interlocked.Increment(ref done);
        })).ToList();
        observer.Start();
        writers.ForEach(t => t.Start());
        writers.ForEach(t => t.JoinBounded());
        observer.JoinBounded();
        Assert.Equal(0, unreadable);
        Assert.True(maxSeen <= Capacity, $"observed Count {maxSeen} > {Capacity}");
        Assert.Equal(Capacity, cache.Count);
    }
}
