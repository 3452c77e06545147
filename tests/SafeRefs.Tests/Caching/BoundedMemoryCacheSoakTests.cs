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
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = Keys });
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
            start.SignalAndWait();
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
        threads.ForEach(t => t.Join());
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
}
