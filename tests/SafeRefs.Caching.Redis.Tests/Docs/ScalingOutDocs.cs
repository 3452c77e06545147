using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;

namespace SafeRefs.Caching.Redis.Tests.Docs;

/// <summary>The "Scaling out" example of docs/caching.md, compiled and checked (registration only: no Redis needed).</summary>
public sealed class ScalingOutDocs
{
    [Fact]
    public void ScalingOut_Registration_WrapsTheRedisCacheAndBoundsTheL1()
    {
        var services = new ServiceCollection();
        #region docs-caching-scaling-out
        services.AddStackExchangeRedisCache(options => options.Configuration = "localhost:6379");
        services.AddBoundedMemoryCache(options => options.Capacity = 50_000)
            .AddRedisInvalidation(options => options.Configuration = "localhost:6379");
        services.AddHybridCache();
        #endregion

        var distributed = Assert.Single(services, d => d.ServiceType == typeof(IDistributedCache) && !d.IsKeyedService);
        Assert.NotNull(distributed.ImplementationFactory); // the invalidating wrapper around RedisCache
        Assert.Contains(services, d => d.ServiceType == typeof(RedisInvalidationChannel));
        Assert.Contains(services, d => d.ServiceType == typeof(HybridCache));
        Assert.Contains(services, d => d.ServiceType == typeof(IMemoryCache));
    }
}
