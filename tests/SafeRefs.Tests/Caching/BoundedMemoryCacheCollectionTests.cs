using System.Runtime.CompilerServices;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Primitives;
using SafeRefs.Caching;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Caching;

[Collection(GcCollection.Name)]
public sealed class BoundedMemoryCacheCollectionTests
{
    [Fact]
    public void Remove_ValueWithLongLivedToken_IsCollected_ControlStaysAlive()
    {
        using var longLived = new CancellationTokenSource();
        var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 8 });
        var removed = Store(cache, "a", longLived.Token);
        var control = Store(cache, "b", longLived.Token);
        cache.Remove("a");
        GcAssert.Collected(removed, "the token registration is disposed when the entry leaves");
        GcAssert.NotCollected(control, "a resident entry stays alive");
        GC.KeepAlive(cache);
        GC.KeepAlive(longLived);
    }

    [Fact]
    public void Set_EvictedValue_IsCollected_ControlStaysAlive()
    {
        var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 2 });
        var evicted = Store(cache, "a", CancellationToken.None);
        Store(cache, "b", CancellationToken.None);
        var control = Store(cache, "c", CancellationToken.None);
        Assert.False(cache.TryGetValue("a", out _));
        GcAssert.Collected(evicted);
        GcAssert.NotCollected(control);
        GC.KeepAlive(cache);
    }

    [Fact]
    public void Set_ReplacedBareValue_IsCollected_ControlStaysAlive()
    {
        var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 100 }); // 65+: in place
        var replaced = Store(cache, "a", CancellationToken.None);
        var control = Store(cache, "b", CancellationToken.None);
        cache.Set("a", "other"); // swapped in place, without the lock
        GcAssert.Collected(replaced, "the replaced value is no longer referenced");
        GcAssert.NotCollected(control);
        GC.KeepAlive(cache);
    }

    [Fact]
    public void Compact_RemovedValue_IsCollected_NeverRemoveControlStaysAlive()
    {
        var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 8 });
        var compacted = Store(cache, "a", CancellationToken.None);
        var control = StoreNeverRemove(cache, "b");
        cache.Compact(1.0);
        GcAssert.Collected(compacted);
        GcAssert.NotCollected(control, "compaction never removes NeverRemove entries");
        GC.KeepAlive(cache);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference StoreNeverRemove(BoundedMemoryCache cache, string key)
    {
        var value = new object();
        cache.Set(key, value, new MemoryCacheEntryOptions { Priority = CacheItemPriority.NeverRemove });
        return new WeakReference(value);
    }

    [Fact]
    public void Dispose_ReleasesValues_WhileCacheIsStillReferenced_ControlInLiveCacheStaysAlive()
    {
        var disposed = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 8 });
        var live = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 8 });
        var released = Store(disposed, "a", CancellationToken.None);
        var control = Store(live, "a", CancellationToken.None);
        disposed.Dispose();
        GcAssert.Collected(released, "unlike MemoryCache, Dispose drops every entry");
        GcAssert.NotCollected(control);
        GC.KeepAlive(disposed);
        live.Dispose();
    }

    [Fact]
    public void AbandonedCache_IsCollected()
    {
        var abandoned = GcAssert.Track(() =>
        {
            var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 8 });
            cache.Set("k", new object(), TimeSpan.FromMinutes(5));
            return cache;
        });
        GcAssert.Collected(abandoned, "the sweep timer holds the cache weakly");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference Store(BoundedMemoryCache cache, string key, CancellationToken token)
    {
        var value = new object();
        var options = new MemoryCacheEntryOptions();
        if (token.CanBeCanceled)
        {
            options.AddExpirationToken(new CancellationChangeToken(token));
        }

        cache.Set(key, value, options);
        return new WeakReference(value);
    }
}
