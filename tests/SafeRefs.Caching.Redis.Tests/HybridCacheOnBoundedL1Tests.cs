using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using SafeRefs.Caching.Redis.Tests.Infrastructure;

namespace SafeRefs.Caching.Redis.Tests;

/// <summary>HybridCache over a real Redis with <see cref="BoundedMemoryCache"/> as its local tier.</summary>
public sealed class HybridCacheOnBoundedL1Tests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [RedisFact]
    public async Task FloodOfDistinctKeys_EachInstancesL1StaysAtItsBound_RedisKeepsEverything()
    {
        const int Capacity = 100;
        const int Keys = 1_000;
        var scope = Guid.NewGuid().ToString("N");
        await using var a = await CacheInstance.StartAsync(redis, scope, capacity: Capacity);
        await using var b = await CacheInstance.StartAsync(redis, scope, capacity: Capacity);
        var maxA = 0;
        var maxB = 0;

        for (var i = 0; i < Keys; i++)
        {
            await a.Hybrid.SetAsync($"flood:{i}", $"value {i}");
            Assert.Equal($"value {i}", await b.GetOrCreateAsync($"flood:{i}", "factory"));
            maxA = Math.Max(maxA, a.L1.Count);
            maxB = Math.Max(maxB, b.L1.Count);
        }

        // HybridCache really uses the bounded cache as its L1 (it fills it), and the bound holds on both instances.
        Assert.Equal(Capacity, maxA);
        Assert.Equal(Capacity, maxB);
        for (var i = 0; i < Keys; i++)
        {
            Assert.NotNull(await a.L2.GetAsync($"flood:{i}"));
        }

        Assert.Equal("value 0", await b.GetOrCreateAsync("flood:0", "factory")); // evicted from L1, read back from L2
    }

    [RedisFact]
    public async Task SizeLimit_BoundsTheBytesHybridCacheReportsForItsEntries()
    {
        const long Limit = 4_096;
        await using var a = await CacheInstance.StartAsync(redis, Guid.NewGuid().ToString("N"), capacity: 10_000, sizeLimit: Limit);
        var payload = new string('x', 500);
        for (var i = 0; i < 200; i++)
        {
            await a.Hybrid.SetAsync($"big:{i}", payload + i);
            Assert.True(a.L1.CurrentSize <= Limit, $"L1 size {a.L1.CurrentSize} exceeds {Limit}");
        }

        // HybridCache sizes its entries by payload bytes, so far fewer than 200 fit in 4 KB.
        Assert.InRange(a.L1.Count, 1, 199);
    }

    [RedisFact]
    public async Task GetOrCreateAsync_ConcurrentCallers_ShareOneFactoryCall()
    {
        await using var a = await CacheInstance.StartAsync(redis, Guid.NewGuid().ToString("N"));
        var calls = 0;
        var gate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var callers = Enumerable.Range(0, 50)
            .Select(_ => a.Hybrid.GetOrCreateAsync("stampede", async ct =>
            {
                Interlocked.Increment(ref calls);
                return await gate.Task;
            }).AsTask())
            .ToArray();

        gate.SetResult("once");
        var results = await Task.WhenAll(callers).WaitAsync(Eventually.Bound);

        Assert.All(results, r => Assert.Equal("once", r));
        Assert.Equal(1, calls);
        Assert.True(a.L1.TryGetValue("stampede", out _));
    }

    [RedisFact]
    public async Task LocalHit_DoesNotTouchRedis()
    {
        await using var a = await CacheInstance.StartAsync(redis, Guid.NewGuid().ToString("N"));
        await a.Hybrid.SetAsync("hot", "v");
        await redis.StopAsync();
        try
        {
            // Redis is gone: the L1 still answers, without a factory call.
            Assert.Equal("v", await a.Hybrid.GetOrCreateAsync("hot", static _ => ValueTask.FromResult("factory"), new HybridCacheEntryOptions()));
        }
        finally
        {
            await redis.StartAsync();
        }
    }
}
