using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
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
