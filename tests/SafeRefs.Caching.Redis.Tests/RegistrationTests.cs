using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SafeRefs.Caching.Redis.Internal;

namespace SafeRefs.Caching.Redis.Tests;

public sealed class RegistrationTests
{
    [Fact]
    public void AddRedisInvalidation_NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => ((IServiceCollection)null!).AddRedisInvalidation(_ => { }));
        Assert.Throws<ArgumentNullException>(() => new ServiceCollection().AddRedisInvalidation(null!));
    }

    [Fact]
    public void AddRedisInvalidation_WithoutBoundedMemoryCache_Throws()
    {
        var services = new ServiceCollection();
        services.AddDistributedMemoryCache();

        var ex = Assert.Throws<InvalidOperationException>(() => services.AddRedisInvalidation(o => o.Configuration = "localhost"));
        Assert.Contains("AddBoundedMemoryCache", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddRedisInvalidation_WithoutDistributedCache_Throws()
    {
        var services = new ServiceCollection();
        services.AddBoundedMemoryCache(_ => { });

        var ex = Assert.Throws<InvalidOperationException>(() => services.AddRedisInvalidation(o => o.Configuration = "localhost"));
        Assert.Contains("AddStackExchangeRedisCache", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddRedisInvalidation_WrapsTheDistributedCache_AndBindsOptions()
    {
        var services = new ServiceCollection();
        services.AddDistributedMemoryCache();
        services.AddBoundedMemoryCache(_ => { })
            .AddRedisInvalidation(o => o.Configuration = "127.0.0.1:1,connectTimeout=100")
            .Configure(o => o.ChannelName = "custom");
        services.AddRedisInvalidation(o => o.SubscribeRetryInterval = TimeSpan.FromMinutes(1)); // a second call only configures

        await using var provider = services.BuildServiceProvider();
        var cache = Assert.IsType<InvalidatingDistributedCache>(provider.GetRequiredService<IDistributedCache>(), exactMatch: false);
        Assert.IsType<MemoryDistributedCache>(cache.Inner);
        Assert.Same(provider.GetRequiredService<RedisInvalidationChannel>(), cache.Channel);
        var options = provider.GetRequiredService<IOptions<RedisInvalidationOptions>>().Value;
        Assert.Equal("custom", options.ChannelName);
        Assert.Equal(TimeSpan.FromMinutes(1), options.SubscribeRetryInterval);
        Assert.Single(services, d => d.ServiceType == typeof(IDistributedCache));
    }

    [Fact]
    public async Task WritesWhileRedisIsUnreachable_NeverThrowNorWait()
    {
        var services = new ServiceCollection();
        services.AddDistributedMemoryCache();
        services.AddBoundedMemoryCache(_ => { }).AddRedisInvalidation(o => o.Configuration = "127.0.0.1:1,connectTimeout=100");
        await using var provider = services.BuildServiceProvider();
        var cache = provider.GetRequiredService<IDistributedCache>();
        var channel = provider.GetRequiredService<RedisInvalidationChannel>();

        await cache.SetAsync("k", [1]).WaitAsync(TimeSpan.FromSeconds(5));
        cache.Set("k", [2]);
        await cache.RemoveAsync("k").WaitAsync(TimeSpan.FromSeconds(5));
        await channel.InvalidateAsync("k").AsTask().WaitAsync(TimeSpan.FromSeconds(5));

        Assert.False(channel.IsSubscribed);
        Assert.Equal(4, channel.Statistics.PublishFailures);
        Assert.Equal(0, channel.Statistics.Published);
    }

    [Fact]
    public async Task Dispose_Twice_DoesNothingTheSecondTime()
    {
        var services = new ServiceCollection();
        services.AddDistributedMemoryCache();
        services.AddBoundedMemoryCache(_ => { }).AddRedisInvalidation(o => o.Configuration = "127.0.0.1:1,connectTimeout=100");
        await using var provider = services.BuildServiceProvider();
        var channel = provider.GetRequiredService<RedisInvalidationChannel>();

        await channel.DisposeAsync();
        await channel.DisposeAsync();
        channel.Dispose();
        await channel.InvalidateAsync("k"); // dropped silently
        Assert.Equal(0, channel.Statistics.Published);
    }

    [Fact]
    public void MissingConnectionSettings_Throw()
    {
        var services = new ServiceCollection();
        services.AddDistributedMemoryCache();
        services.AddBoundedMemoryCache(_ => { }).AddRedisInvalidation(_ => { });
        using var provider = services.BuildServiceProvider();

        Assert.Throws<ArgumentException>(() => provider.GetRequiredService<RedisInvalidationChannel>());
    }
}
