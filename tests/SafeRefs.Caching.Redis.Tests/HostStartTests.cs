using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SafeRefs.Caching.Redis.Tests.Infrastructure;
using StackExchange.Redis;

namespace SafeRefs.Caching.Redis.Tests;

/// <summary>In a real host, the channel starts with the host, whatever the app resolves, and a distributed cache
/// registered after <c>AddRedisInvalidation</c> fails the host's start.</summary>
public sealed class HostStartTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private const string Unreachable = "127.0.0.1:1,connectTimeout=100";

    [RedisFact]
    public async Task HostStart_AppResolvingNeitherHybridCacheNorTheChannel_SubscribesAndDropsRemoteRemovals()
    {
        var scope = Guid.NewGuid().ToString("N");
        await using var a = await CacheInstance.StartAsync(redis, scope);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddStackExchangeRedisCache(options => options.InstanceName = scope + ":");
        builder.Services.Configure<RedisCacheOptions>(options => options.ConfigurationOptions = redis.ClientOptions());
        builder.Services.AddBoundedMemoryCache(_ => { }).AddRedisInvalidation(options =>
        {
            options.ChannelName = "invalidation:" + scope;
            options.ConfigurationOptions = redis.ClientOptions();
        });
        using var host = builder.Build();

        // The app uses its L1 directly (or only injects IDistributedCache): nothing resolves the channel.
        var l1 = host.Services.GetRequiredService<BoundedMemoryCache>();
        l1.Set("price:1", "old");
        await host.StartAsync();
        try
        {
            Assert.True(await Eventually.TrueAsync(async () => await SubscribersAsync("invalidation:" + scope) == 2), "B never subscribed");

            await a.Hybrid.RemoveAsync("price:1");

            Assert.True(await Eventually.TrueAsync(() => !l1.TryGetValue("price:1", out _)), a.Describe("A"));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HostStart_DistributedCacheRegisteredAfterAddRedisInvalidation_FailsSayingWhatToDo(bool withHybridCache)
    {
        // Without HybridCache nothing else would ever resolve the channel: the start is the only place left to fail.
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddBoundedMemoryCache(_ => { }).AddRedisInvalidation(options => options.Configuration = Unreachable);
        if (withHybridCache)
        {
            builder.Services.AddHybridCache();
        }

        builder.Services.AddStackExchangeRedisCache(options => options.Configuration = Unreachable);
        using var host = builder.Build();

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains("Caching.StackExchangeRedis.", ex.Message, StringComparison.Ordinal);
        Assert.Contains("registered after AddRedisInvalidation", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostStart_RedisUnreachable_StartsWithoutWaitingForIt()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddDistributedMemoryCache();
        builder.Services.AddBoundedMemoryCache(_ => { }).AddRedisInvalidation(options => options.Configuration = Unreachable);
        using var host = builder.Build();

        await host.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        try
        {
            Assert.False(host.Services.GetRequiredService<RedisInvalidationChannel>().IsSubscribed);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private async Task<long> SubscribersAsync(string channel)
    {
        var reply = await redis.ExecuteAsync("PUBSUB", "NUMSUB", channel);
        return (long)((RedisResult[])reply!)[1];
    }
}
