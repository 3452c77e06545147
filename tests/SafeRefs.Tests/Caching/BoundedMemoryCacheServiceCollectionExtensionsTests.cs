using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SafeRefs.Caching;

namespace SafeRefs.Tests.Caching;

public sealed class BoundedMemoryCacheServiceCollectionExtensionsTests
{
    [Fact]
    public void AddBoundedMemoryCache_ReplacesAddMemoryCache_ConsumersGetBoundedCache()
    {
        var services = new ServiceCollection();
        services.AddMemoryCache();
        services.AddBoundedMemoryCache(o => o.Capacity = 50);
        services.AddMemoryCache(); // a library calling AddMemoryCache later does not override it
        services.AddSingleton<Consumer>();
        using var provider = services.BuildServiceProvider();
        var consumer = provider.GetRequiredService<Consumer>();
        var bounded = Assert.IsType<BoundedMemoryCache>(consumer.Cache);
        Assert.Same(bounded, provider.GetRequiredService<BoundedMemoryCache>());
        for (var i = 0; i < 500; i++)
        {
            consumer.Cache.Set(i, i);
        }

        Assert.Equal(50, bounded.Count);
    }

    [Fact]
    public void AddBoundedMemoryCache_BuildsFromIOptions_ConfigureAfterwardsApplies()
    {
        var services = new ServiceCollection();
        services.AddBoundedMemoryCache(o => o.Capacity = 50);
        services.Configure<BoundedMemoryCacheOptions>(o => o.Capacity = 3);
        using var provider = services.BuildServiceProvider();
        var cache = provider.GetRequiredService<BoundedMemoryCache>();
        for (var i = 0; i < 10; i++)
        {
            cache.Set(i, i);
        }

        Assert.Equal(3, cache.Count);
        var options = provider.GetRequiredService<IOptions<BoundedMemoryCacheOptions>>().Value;
        Assert.Equal(3, options.Capacity);
        Assert.Null(options.Name); // the container's options instance is copied, not filled in
    }

    [Fact]
    public void AddBoundedMemoryCache_WithoutArguments_UsesConfiguredOptions()
    {
        var services = new ServiceCollection();
        services.Configure<BoundedMemoryCacheOptions>(o => o.Capacity = 2);
        services.AddBoundedMemoryCache();
        using var provider = services.BuildServiceProvider();
        var cache = provider.GetRequiredService<IMemoryCache>();
        cache.Set(1, 1);
        cache.Set(2, 2);
        cache.Set(3, 3);
        Assert.Equal(2, ((BoundedMemoryCache)cache).Count);
        Assert.Throws<ArgumentNullException>(() => BoundedMemoryCacheServiceCollectionExtensions.AddBoundedMemoryCache(null!));
    }

    [Fact]
    public void AddBoundedMemoryCache_NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => BoundedMemoryCacheServiceCollectionExtensions.AddBoundedMemoryCache(null!, _ => { }));
        Assert.Throws<ArgumentNullException>(() => new ServiceCollection().AddBoundedMemoryCache(null!));
    }

    private sealed class Consumer(IMemoryCache cache)
    {
        public IMemoryCache Cache { get; } = cache;
    }
}
