using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using SafeRefs.Caching;

namespace SafeRefs.Tests.Docs;

/// <summary>The examples of docs/caching.md and the README caching quick start, compiled and run.</summary>
public sealed class CachingDocs
{
    [Fact]
    public void Caching_UnboundedDictionary_VersusBoundedLruCache()
    {
        for (var i = 0; i < 20_000; i++)
        {
            LeakyPriceLookup.Price($"sku-{i}");
            PriceLookup.Price($"sku-{i}");
        }

        Assert.Equal(20_000, LeakyPriceLookup.Count);
        Assert.Equal(10_000, PriceLookup.Count);
    }

    [Fact]
    public void Caching_QuickStart_Runs()
    {
        #region docs-caching-quickstart
        using var cache = new BoundedLruCache<string, byte[]>(capacity: 1_000);
        var thumbnail = cache.GetOrAdd("cat.png", static path => LoadThumbnail(path));
        // Never more than 1 000 entries: a full cache evicts the least valuable entry, it never rejects a write.
        Console.WriteLine($"{cache.Count} / {cache.Capacity}, hit ratio {cache.Statistics.HitRatio:P0}");
        #endregion
        Assert.Equal(3, thumbnail.Length);
    }

    [Fact]
    public void Caching_BitFasterMembers_Run()
    {
        #region docs-caching-bitfaster
        using var stock = new BoundedLruCache<string, int>(capacity: 1_000);
        stock.Updated += (_, e) => Console.WriteLine($"{e.Key}: {e.OldValue} -> {e.NewValue}");
        stock.AddOrUpdate("apples", 3);
        stock.TryUpdate("apples", 4);                              // only over a live entry
        stock.TryUpdate("pears", 1);                               // false: nothing stored
        var bySpan = stock.GetAlternateLookup<ReadOnlySpan<char>>();
        bySpan.TryGet("apples,pears".AsSpan(0, 6), out var apples); // finds "apples" without allocating a string
        stock.TryRemove(new KeyValuePair<string, int>("apples", 3)); // false: it holds 4 now
        stock.Trim(stock.Count / 2);                               // drop the least valuable half
        foreach (var (name, count) in stock)                       // a snapshot: later writes do not change it
        {
            Console.WriteLine($"{name} = {count}");
        }
        #endregion
        Assert.Equal(4, apples);
        Assert.Equal([new KeyValuePair<string, int>("apples", 4)], stock);
    }

    [Fact]
    public void Caching_ScopedValues_Runs()
    {
        #region docs-caching-scoped
        using var connections = new BoundedLruCache<string, Scoped<Connection>>(new BoundedLruCacheOptions<string, Scoped<Connection>>
        {
            Capacity = 100,
            DisposeEvictedValues = true, // leaving the cache releases the cache's reference
        });
        connections.Set("db-1", new Scoped<Connection>(new Connection("db-1")));
        if (connections.TryGetLease("db-1", out var lease))
        {
            using (lease)
            {
                lease.Value.Send("ping"); // not disposed until this lease ends, even if evicted meanwhile
            }
        }
        #endregion
        Assert.True(connections.TryRemove("db-1", out var removed));
        removed.Dispose();
    }

    private sealed class Connection(string name) : IDisposable
    {
        public string Name { get; } = name;

        public void Send(string message) => Assert.NotEmpty(message + Name);

        public void Dispose()
        {
        }
    }

    [Fact]
    public void Caching_SharedMemoryCache_OneLine()
    {
        var services = new ServiceCollection();
        #region docs-caching-di
        services.AddBoundedMemoryCache(options => options.Capacity = 50_000);
        #endregion
        using var provider = services.BuildServiceProvider();
        Assert.IsType<BoundedMemoryCache>(provider.GetRequiredService<IMemoryCache>());
    }

    [Fact]
    public void Caching_Weighted_Runs()
    {
        #region docs-caching-weight
        var options = new BoundedLruCacheOptions<string, byte[]>
        {
            Capacity = 10_000,                        // at most 10 000 entries…
            MaxWeight = 64 * 1024 * 1024,             // …and at most 64 MB of payload
            Weigher = static (key, bytes) => bytes.Length,
            ExpireAfterWrite = TimeSpan.FromMinutes(10),
            DisposeEvictedValues = false,
        };
        using var images = new BoundedLruCache<string, byte[]>(options);
        images.Set("logo.png", new byte[1024]);
        #endregion
        Assert.Equal(1024, images.TotalWeight);
    }

    [Fact]
    public async Task Caching_GetOrAddAsync_Runs()
    {
        using var cache = new BoundedLruCache<int, string>(100);
        var cancellationToken = CancellationToken.None;
        #region docs-caching-async
        var user = await cache.GetOrAddAsync(
            42,
            static async (id, ct) => await LoadUserAsync(id, ct),
            cancellationToken);
        #endregion
        Assert.Equal("user-42", user);
    }

    [Fact]
    public void Caching_LinkedEntries_Runs()
    {
        using var pricesChanged = new CancellationTokenSource();
        #region docs-caching-linked
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { TrackLinkedCacheEntries = true });
        var page = cache.GetOrCreate("page:home", entry =>
        {
            // Created inside the page's factory: its token and expiration are copied to the page's entry.
            var prices = cache.GetOrCreate("prices", inner =>
            {
                inner.AddExpirationToken(new CancellationChangeToken(pricesChanged.Token));
                inner.AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(5);
                return LoadPrices();
            });
            return RenderPage(prices);
        });
        // pricesChanged.Cancel() now removes "prices" and "page:home".
        #endregion
        Assert.Equal("3 prices", page);
        pricesChanged.Cancel();
        Assert.False(cache.TryGetValue("page:home", out _));
    }

    private static int[] LoadPrices() => [1, 2, 3];

    private static string RenderPage(int[]? prices) => $"{prices?.Length} prices";

    private static byte[] LoadThumbnail(string path) => [1, 2, 3];

    private static async Task<string> LoadUserAsync(int id, CancellationToken ct)
    {
        await Task.Yield();
        return $"user-{id}";
    }

#pragma warning disable SR1004 // the leak is the point of this example
    #region docs-caching-leaky
    public static class LeakyPriceLookup
    {
        // Grows with every distinct SKU ever asked for, for the life of the process.
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, decimal> Prices = new();

        public static int Count => Prices.Count;

        public static decimal Price(string sku) => Prices.GetOrAdd(sku, static s => LoadPrice(s));

        private static decimal LoadPrice(string sku) => sku.Length;
    }
    #endregion
#pragma warning restore SR1004

    #region docs-caching-bounded
    public static class PriceLookup
    {
        // At most 10 000 SKUs; the hot ones stay, one-time lookups pass through.
        private static readonly BoundedLruCache<string, decimal> Prices = new(capacity: 10_000);

        public static int Count => Prices.Count;

        public static decimal Price(string sku) => Prices.GetOrAdd(sku, static s => LoadPrice(s));

        private static decimal LoadPrice(string sku) => sku.Length;
    }
    #endregion
}
