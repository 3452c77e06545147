using System.Buffers;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SafeRefs.Caching.Redis.Internal;
using SafeRefs.Caching.Redis.Tests.Infrastructure;

namespace SafeRefs.Caching.Redis.Tests;

public sealed class RegistrationTests
{
    private const string Unreachable = "127.0.0.1:1,connectTimeout=100";

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
        Assert.Single(services, d => d.ServiceType == typeof(IDistributedCache) && !d.IsKeyedService);
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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HybridCacheWrites_AreAnnounced_AddHybridCacheBeforeOrAfter(bool hybridFirst)
    {
        var services = new ServiceCollection();
        var inner = new RecordingDistributedCache();
        if (hybridFirst)
        {
            services.AddHybridCache();
        }

        services.TryAddSingleton<IDistributedCache>(inner);
        services.AddBoundedMemoryCache(_ => { }).AddRedisInvalidation(o => o.Configuration = Unreachable);
        if (!hybridFirst)
        {
            services.AddHybridCache();
        }

        await using var provider = services.BuildServiceProvider();
        var channel = provider.GetRequiredService<RedisInvalidationChannel>();

        await provider.GetRequiredService<HybridCache>().SetAsync("k", "v");

        Assert.True(inner.Contains("k"));
        Assert.Equal(1, channel.Statistics.PublishFailures); // announced (Redis is unreachable here)
    }

    [Theory]
    [InlineData("Add")] // AddStackExchangeRedisCache and the like
    [InlineData("TryAdd")] // AddDistributedMemoryCache and the like, with none registered before
    [InlineData("Replace")] // a second registration that replaces one AddRedisInvalidation wrapped
    public async Task DistributedCacheRegisteredAfter_ResolvingHybridCacheOrTheChannel_ThrowsSayingWhatToDo(string registration)
    {
        var services = new ServiceCollection();
        if (registration == "Replace")
        {
            services.AddDistributedMemoryCache();
        }

        services.AddBoundedMemoryCache(_ => { }).AddRedisInvalidation(o => o.Configuration = Unreachable);
        services.AddHybridCache();
        var late = new RecordingDistributedCache();
        if (registration == "TryAdd")
        {
            services.TryAddSingleton<IDistributedCache>(late);
        }
        else
        {
            services.AddSingleton<IDistributedCache>(late);
        }

        await using var provider = services.BuildServiceProvider();

        // Code injecting IDistributedCache gets the late registration, which nothing can wrap once the container is
        // built: rather than let its writes go unannounced, the channel refuses to start.
        var ex = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<HybridCache>());
        Assert.Contains(typeof(RecordingDistributedCache).FullName!, ex.Message, StringComparison.Ordinal);
        Assert.Contains("before AddRedisInvalidation", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<RedisInvalidationChannel>());
        Assert.Same(late, provider.GetRequiredService<IDistributedCache>());
    }

    [Fact]
    public async Task RedisCacheRegisteredAfter_ResolvingHybridCache_ThrowsNamingIt()
    {
        var services = new ServiceCollection();
        services.AddBoundedMemoryCache(_ => { }).AddRedisInvalidation(o => o.Configuration = Unreachable);
        services.AddHybridCache();
        services.AddStackExchangeRedisCache(o => o.Configuration = Unreachable);
        await using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<HybridCache>());
        Assert.Contains("Caching.StackExchangeRedis.", ex.Message, StringComparison.Ordinal); // the type it registered
        Assert.Contains("registered after AddRedisInvalidation", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DistributedCacheRegisteredFirst_InjectedCacheAndHybridCacheShareOneWrapper_WhoseWritesAreAnnounced()
    {
        var services = new ServiceCollection();
        var inner = new RecordingDistributedCache();
        services.AddSingleton<IDistributedCache>(inner);
        services.AddBoundedMemoryCache(_ => { }).AddRedisInvalidation(o => o.Configuration = Unreachable);
        services.AddHybridCache();
        await using var provider = services.BuildServiceProvider();

        var injected = provider.GetRequiredService<IDistributedCache>();

        Assert.Same(injected, provider.GetRequiredKeyedService<IDistributedCache>(RedisInvalidationServiceCollectionExtensions.ServiceKey));
        await injected.SetAsync("direct", [1]);
        await provider.GetRequiredService<HybridCache>().SetAsync("hybrid", "v");
        Assert.True(inner.Contains("direct") && inner.Contains("hybrid"));
        Assert.Equal(2, provider.GetRequiredService<RedisInvalidationChannel>().Statistics.PublishFailures); // both announced
    }

    [Fact]
    public async Task HybridCacheOnAKeyedDistributedCache_WritesGoToIt_Announced()
    {
        var services = new ServiceCollection();
        var keyed = new RecordingDistributedCache();
        services.AddKeyedSingleton<IDistributedCache>("mine", keyed);
        services.AddBoundedMemoryCache(_ => { }).AddRedisInvalidation(o => o.Configuration = Unreachable);
        services.AddHybridCache(o => o.DistributedCacheServiceKey = "mine");
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<HybridCache>().SetAsync("k", "v");

        Assert.True(keyed.Contains("k"));
        Assert.Equal(1, provider.GetRequiredService<RedisInvalidationChannel>().Statistics.PublishFailures);
    }

    [Fact]
    public async Task NoDistributedCacheAtAll_ResolvingHybridCache_ThrowsAClearException()
    {
        var services = new ServiceCollection();
        services.AddBoundedMemoryCache(_ => { }).AddRedisInvalidation(o => o.Configuration = Unreachable);
        services.AddHybridCache();
        await using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<HybridCache>());
        Assert.Contains("AddStackExchangeRedisCache", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrapper_OffersIBufferDistributedCache_ExactlyWhenTheInnerCacheDoes()
    {
        foreach (var (inner, buffered) in new (RecordingDistributedCache, bool)[] { (new RecordingBufferDistributedCache(), true), (new RecordingDistributedCache(), false) })
        {
            var services = new ServiceCollection();
            services.AddSingleton<IDistributedCache>(inner);
            services.AddBoundedMemoryCache(_ => { }).AddRedisInvalidation(o => o.Configuration = Unreachable);
            await using var provider = services.BuildServiceProvider();
            var wrapper = provider.GetRequiredKeyedService<IDistributedCache>(RedisInvalidationServiceCollectionExtensions.ServiceKey);

            Assert.IsType<InvalidatingDistributedCache>(wrapper, exactMatch: false);
            Assert.Equal(buffered, wrapper is IBufferDistributedCache);
            Assert.Equal(buffered, provider.GetRequiredService<IDistributedCache>() is IBufferDistributedCache);
        }
    }

    [Fact]
    public async Task HybridCache_ReadsAndWritesThroughTheBufferPath_OfTheWrapper()
    {
        var services = new ServiceCollection();
        var inner = new RecordingBufferDistributedCache();
        services.AddSingleton<IDistributedCache>(inner);
        services.AddBoundedMemoryCache(_ => { }).AddRedisInvalidation(o => o.Configuration = Unreachable);
        services.AddHybridCache();
        await using var provider = services.BuildServiceProvider();
        var hybrid = provider.GetRequiredService<HybridCache>();

        Assert.Equal("created", await hybrid.GetOrCreateAsync("k", static _ => ValueTask.FromResult("created")));
        await hybrid.SetAsync("k2", "v");

        Assert.True(inner.Calls("TryGetAsync") >= 1); // HybridCache may look twice (before and after taking its stampede lock)
        Assert.Equal(0, inner.Calls("GetAsync"));
        Assert.Equal(2, inner.Calls("SetAsync(sequence)"));
        Assert.Equal(0, inner.Calls("SetAsync"));
        Assert.Equal(2, provider.GetRequiredService<RedisInvalidationChannel>().Statistics.PublishFailures); // both announced
    }

    [Fact]
    public void BufferReads_ReachTheCallersWriter_OnlyWhenFound()
    {
        var services = new ServiceCollection();
        var inner = new RecordingBufferDistributedCache();
        inner.Set("k", new ReadOnlySequence<byte>([1, 2, 3]), new DistributedCacheEntryOptions());
        services.AddSingleton<IDistributedCache>(inner);
        services.AddBoundedMemoryCache(_ => { }).AddRedisInvalidation(o => o.Configuration = Unreachable);
        using var provider = services.BuildServiceProvider();
        var wrapper = (IBufferDistributedCache)provider.GetRequiredService<IDistributedCache>();
        var destination = new ArrayBufferWriter<byte>();

        Assert.True(wrapper.TryGet("k", destination));
        Assert.False(wrapper.TryGet("missing", destination));

        Assert.Equal([1, 2, 3], destination.WrittenSpan.ToArray());
    }
}
