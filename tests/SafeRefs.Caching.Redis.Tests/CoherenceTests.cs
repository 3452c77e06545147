using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using SafeRefs.Caching.Redis.Tests.Infrastructure;
using StackExchange.Redis;

namespace SafeRefs.Caching.Redis.Tests;

/// <summary>Two or three instances sharing one real Redis: a write or removal on one reaches the others' bounded L1.</summary>
public sealed class CoherenceTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [RedisFact]
    public async Task SetAsync_OnOneInstance_OtherInstanceStopsServingOldValue()
    {
        var scope = Scope();
        await using var a = await CacheInstance.StartAsync(redis, scope);
        await using var b = await CacheInstance.StartAsync(redis, scope);
        await a.Hybrid.SetAsync("price:1", "v1");
        Assert.Equal("v1", await b.GetOrCreateAsync("price:1", "ignored"));
        Assert.True(b.HasLocal("price:1"));

        await a.Hybrid.SetAsync("price:1", "v2");

        Assert.True(await Eventually.TrueAsync(async () => await b.GetOrCreateAsync("price:1", "factory") == "v2"));
        Assert.Equal("v2", await a.GetOrCreateAsync("price:1", "factory"));
    }

    [RedisFact]
    public async Task SetAsync_WithoutTheChannel_OtherInstanceKeepsServingOldValue()
    {
        // Control twin of the test above: what HybridCache does on its own.
        var scope = Scope();
        await using var a = await CacheInstance.StartAsync(redis, scope, invalidation: false);
        await using var b = await CacheInstance.StartAsync(redis, scope, invalidation: false);
        await a.Hybrid.SetAsync("price:1", "v1");
        Assert.Equal("v1", await b.GetOrCreateAsync("price:1", "ignored"));

        await a.Hybrid.SetAsync("price:1", "v2");

        Assert.False(await Eventually.TrueAsync(async () => await b.GetOrCreateAsync("price:1", "factory") == "v2", TimeSpan.FromSeconds(1)));
    }

    [RedisFact]
    public async Task RemoveAsync_OnOneInstance_DropsEveryOtherInstancesCopy()
    {
        var scope = Scope();
        await using var a = await CacheInstance.StartAsync(redis, scope);
        await using var b = await CacheInstance.StartAsync(redis, scope);
        await using var c = await CacheInstance.StartAsync(redis, scope);
        await a.Hybrid.SetAsync("user:7", "alice");
        Assert.Equal("alice", await b.GetOrCreateAsync("user:7", "x"));
        Assert.Equal("alice", await c.GetOrCreateAsync("user:7", "x"));

        await a.Hybrid.RemoveAsync("user:7");

        Assert.True(await Eventually.TrueAsync(() => !b.HasLocal("user:7") && !c.HasLocal("user:7")));
        Assert.Equal("bob", await b.GetOrCreateAsync("user:7", "bob"));
    }

    [RedisFact]
    public async Task OwnMessages_AreIgnored_TheWritersNewValueStays()
    {
        var scope = Scope();
        await using var a = await CacheInstance.StartAsync(redis, scope);
        await using var b = await CacheInstance.StartAsync(redis, scope);

        await a.Hybrid.SetAsync("k", "mine");

        Assert.True(await Eventually.TrueAsync(() => a.Channel!.Statistics.IgnoredOwn >= 1 && b.Channel!.Statistics.Received >= 1));
        Assert.True(a.HasLocal("k"));
        Assert.Equal(0, a.Channel!.Statistics.Received);
        Assert.Equal("mine", await a.GetOrCreateAsync("k", "factory"));
    }

    [RedisFact]
    public async Task RemoveByTagAsync_OnOneInstance_OtherInstanceRecreatesTaggedEntries()
    {
        var scope = Scope();
        await using var a = await CacheInstance.StartAsync(redis, scope);
        await using var b = await CacheInstance.StartAsync(redis, scope);
        await a.Hybrid.SetAsync("p:1", "old", tags: ["products"]);
        await a.Hybrid.SetAsync("u:1", "untagged");
        Assert.Equal("old", await b.GetOrCreateAsync("p:1", "x", ["products"]));
        Assert.Equal("untagged", await b.GetOrCreateAsync("u:1", "x"));

        await a.Hybrid.RemoveByTagAsync("products");

        // As HybridCache documents for one instance: tagged entries are gone (the factory runs again), others stay.
        Assert.Equal("new", await a.GetOrCreateAsync("p:1", "new", ["products"]));
        Assert.True(await Eventually.TrueAsync(async () => await b.GetOrCreateAsync("p:1", "fresh", ["products"]) != "old"));
        Assert.Equal("untagged", await b.GetOrCreateAsync("u:1", "x"));
    }

    [RedisFact]
    public async Task RemoveByTagAsync_WithoutTheChannel_OtherInstanceKeepsTaggedEntries()
    {
        var scope = Scope();
        await using var a = await CacheInstance.StartAsync(redis, scope, invalidation: false);
        await using var b = await CacheInstance.StartAsync(redis, scope, invalidation: false);
        await a.Hybrid.SetAsync("p:1", "old", tags: ["products"]);
        Assert.Equal("old", await b.GetOrCreateAsync("p:1", "x", ["products"]));

        await a.Hybrid.RemoveByTagAsync("products");

        Assert.False(await Eventually.TrueAsync(async () => await b.GetOrCreateAsync("p:1", "fresh", ["products"]) != "old", TimeSpan.FromSeconds(1)));
    }

    [RedisFact]
    public async Task AppliedTagInvalidation_IsNotAnnouncedAgain()
    {
        var scope = Scope();
        await using var a = await CacheInstance.StartAsync(redis, scope);
        await using var b = await CacheInstance.StartAsync(redis, scope);
        await using var c = await CacheInstance.StartAsync(redis, scope);
        var publishedByB = b.Channel!.Statistics.Published;
        var publishedByC = c.Channel!.Statistics.Published;

        await a.Hybrid.RemoveByTagAsync("products");

        // B and C re-apply the tag to their HybridCache (which writes L2), but only A announces it: no echo storm.
        Assert.True(await Eventually.TrueAsync(() => b.Channel.Statistics.Applied >= 1 && c.Channel.Statistics.Applied >= 1));
        Assert.Equal(publishedByB, b.Channel.Statistics.Published);
        Assert.Equal(publishedByC, c.Channel.Statistics.Published);
        Assert.Equal(0, a.Channel!.Statistics.Received);
    }

    [RedisFact]
    public async Task ReadInFlightWhenTheInvalidationArrives_DoesNotStoreTheOldValue()
    {
        var scope = Scope();
        var gate = new GatedDistributedCache[1];
        await using var a = await CacheInstance.StartAsync(redis, scope);
        await using var b = await CacheInstance.StartAsync(redis, scope, gate: gate);
        await a.Hybrid.SetAsync("stock:9", "old");
        Assert.True(await Eventually.TrueAsync(() => b.Channel!.Statistics.Applied >= 1)); // the "old" write's message
        var applied = b.Channel!.Statistics.Applied;
        var redisAnswered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate[0].AfterRead = async key =>
        {
            if (key.EndsWith("stock:9", StringComparison.Ordinal))
            {
                redisAnswered.TrySetResult();
                await release.Task;
            }
        };

        // B's read has the old bytes from Redis but has not stored them yet when A's write is applied on B.
        var read = b.Hybrid.GetOrCreateAsync("stock:9", static _ => ValueTask.FromResult("from the factory")).AsTask();
        await redisAnswered.Task.WaitAsync(Eventually.Bound);
        await a.Hybrid.SetAsync("stock:9", "new");
        Assert.True(await Eventually.TrueAsync(() => b.Channel.Statistics.Applied > applied));
        gate[0].AfterRead = null;
        release.SetResult();

        // The overlapped read is made again, so B returns and caches the new value, not the old one.
        Assert.Equal("new", await read.WaitAsync(Eventually.Bound));
        Assert.Equal("new", await b.GetOrCreateAsync("stock:9", "factory"));
    }

    [RedisFact]
    public async Task DistributedCacheWritesAndRemovals_MadeDirectly_DropOtherInstancesCopies()
    {
        // Code that injects IDistributedCache itself (not HybridCache) writes through the same wrapper.
        var scope = Scope();
        await using var a = await CacheInstance.StartAsync(redis, scope);
        await using var b = await CacheInstance.StartAsync(redis, scope);
        await a.Hybrid.SetAsync("d:1", "old");
        await a.Hybrid.SetAsync("d:2", "old");
        Assert.Equal("old", await b.GetOrCreateAsync("d:1", "x"));
        Assert.Equal("old", await b.GetOrCreateAsync("d:2", "x"));

        await a.L2.RemoveAsync("d:1");
        a.L2.Set("d:2", [1, 2, 3], new DistributedCacheEntryOptions());

        Assert.True(await Eventually.TrueAsync(() => !b.HasLocal("d:1") && !b.HasLocal("d:2")), b.Describe("B"));
    }

    [RedisFact]
    public async Task Messages_CarryTheKey_NeverTheValue()
    {
        var scope = Scope();
        await using var a = await CacheInstance.StartAsync(redis, scope);
        await using var listener = await ConnectionMultiplexer.ConnectAsync(redis.ClientOptions());
        var messages = new ConcurrentQueue<string>();
        var queue = await listener.GetSubscriber().SubscribeAsync(RedisChannel.Literal("invalidation:" + scope));
        queue.OnMessage(message => messages.Enqueue(message.Message.ToString()));

        await a.Hybrid.SetAsync("secret:1", "VALUE-7f3a");
        await a.Hybrid.RemoveAsync("secret:1");

        Assert.True(await Eventually.TrueAsync(() => messages.Count >= 2), a.Describe("A"));
        Assert.All(messages, m => Assert.EndsWith("|secret:1", m, StringComparison.Ordinal));
        Assert.DoesNotContain(messages, m => m.Contains("VALUE-7f3a", StringComparison.Ordinal));
    }

    [RedisFact]
    public async Task InvalidateAsync_Directly_DropsKeyEverywhere()
    {
        var scope = Scope();
        await using var a = await CacheInstance.StartAsync(redis, scope);
        await using var b = await CacheInstance.StartAsync(redis, scope);
        a.L1.Set("plain", 1);
        b.L1.Set("plain", 1);

        await a.Channel!.InvalidateAsync("plain");

        Assert.False(a.HasLocal("plain"));
        Assert.True(await Eventually.TrueAsync(() => !b.HasLocal("plain")));
    }

    [RedisFact]
    public async Task LateJoiner_ReadsCurrentValue_AndReceivesLaterRemovals()
    {
        var scope = Scope();
        await using var a = await CacheInstance.StartAsync(redis, scope);
        await a.Hybrid.SetAsync("cfg", "v1");
        await a.Hybrid.SetAsync("cfg", "v2");

        await using var late = await CacheInstance.StartAsync(redis, scope);
        Assert.Equal("v2", await late.GetOrCreateAsync("cfg", "factory"));

        await a.Hybrid.SetAsync("cfg", "v3");
        Assert.True(await Eventually.TrueAsync(async () => await late.GetOrCreateAsync("cfg", "factory") == "v3"));
    }

    [RedisFact]
    public async Task SlowSubscriber_DoesNotHoldUpWriters_AndCatchesUp()
    {
        var scope = Scope();
        await using var a = await CacheInstance.StartAsync(redis, scope);
        await using var b = await CacheInstance.StartAsync(redis, scope);
        for (var i = 0; i < 50; i++)
        {
            await b.GetOrCreateAsync($"slow:{i}", "old");
        }

        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        b.Channel!.BeforeApply = (_, _) => release.Task;

        // B applies nothing until released; A's writes complete regardless.
        for (var i = 0; i < 50; i++)
        {
            await a.Hybrid.SetAsync($"slow:{i}", "new").AsTask().WaitAsync(Eventually.Bound);
        }

        Assert.Equal(0, b.Channel.Statistics.Applied);
        release.SetResult();

        Assert.True(await Eventually.TrueAsync(() => Enumerable.Range(0, 50).All(i => !b.HasLocal($"slow:{i}"))));
        Assert.Equal("new", await b.GetOrCreateAsync("slow:49", "factory"));
    }

    [RedisFact]
    public async Task FailingApply_IsLoggedAndCounted_LaterMessagesStillApply()
    {
        var scope = Scope();
        await using var a = await CacheInstance.StartAsync(redis, scope);
        await using var b = await CacheInstance.StartAsync(redis, scope);
        b.Channel!.BeforeApply = (_, key) => key == "boom" ? throw new InvalidOperationException("observer bug") : Task.CompletedTask;
        b.L1.Set("after", 1);

        await a.Channel!.InvalidateAsync("boom");
        await a.Channel.InvalidateAsync("after");

        Assert.True(await Eventually.TrueAsync(() => !b.HasLocal("after")));
        Assert.Equal(1, b.Channel.Statistics.ApplyFailures);
        Assert.Contains(b.Logs.GetSnapshot(), r => r.Id.Id == 1484 && r.Exception is InvalidOperationException);
    }

    private static string Scope() => Guid.NewGuid().ToString("N");
}
