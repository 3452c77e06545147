using System.Runtime.CompilerServices;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Caching;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Caching;

[Collection(GcCollection.Name)]
public sealed class BoundedLruCacheCollectionTests
{
    [Fact]
    public void TryRemove_RemovedValue_IsCollected_ControlStaysAlive()
    {
        var cache = new BoundedLruCache<int, object>(8);
        var removed = Store(cache, 1);
        var control = Store(cache, 2);
        Assert.True(Remove(cache, 1)); // in a helper: the out value must not land in a local of this frame
        GcAssert.Collected(removed, "a removed value is no longer referenced by the cache");
        GcAssert.NotCollected(control, "a resident value stays alive");
        GC.KeepAlive(cache);
    }

    [Fact]
    public void Set_ReplacedValue_IsCollected_ControlStaysAlive()
    {
        var cache = new BoundedLruCache<int, object>(8);
        var replaced = Store(cache, 1);
        var replacement = Store(cache, 1);
        GcAssert.Collected(replaced, "a replaced value is no longer referenced by the cache");
        GcAssert.NotCollected(replacement, "the replacement is resident");
        GC.KeepAlive(cache);
    }

    [Fact]
    public void Set_EvictedValue_IsCollectedWithoutFurtherTraffic_ControlStaysAlive()
    {
        var cache = new BoundedLruCache<int, object>(4);
        var evicted = Store(cache, 0);
        for (var i = 1; i <= 3; i++)
        {
            Store(cache, i);
            Assert.True(cache.TryGet(i, out _)); // read: 0 is the only entry never read, the least valuable
        }

        Store(cache, 4);
        var control = Store(cache, 100);
        Assert.False(cache.TryGet(0, out _));
        GcAssert.Collected(evicted, "an evicted value is unlinked at once");
        GcAssert.NotCollected(control, "the newest value is resident");
        GC.KeepAlive(cache);
    }

    [Fact]
    public void Clear_ClearedValue_IsCollected()
    {
        var cache = new BoundedLruCache<int, object>(4);
        var cleared = Store(cache, 1);
        cache.Clear();
        var control = Store(cache, 2);
        GcAssert.Collected(cleared);
        GcAssert.NotCollected(control);
        GC.KeepAlive(cache);
    }

    [Fact]
    public void Sweep_ExpiredValue_IsCollectedWithoutCacheTraffic_ControlStaysAlive()
    {
        var time = new FakeTimeProvider();
        var cache = new BoundedLruCache<int, object>(new BoundedLruCacheOptions<int, object>
        {
            Capacity = 8,
            ExpireAfterWrite = TimeSpan.FromSeconds(10),
            TimeProvider = time,
        });
        var expired = Store(cache, 1);
        time.Advance(TimeSpan.FromSeconds(6));
        var control = Store(cache, 2);
        time.Advance(TimeSpan.FromSeconds(5)); // the sweep at t = 10 s removes key 1 only
        Assert.Equal(1, cache.Count);
        GcAssert.Collected(expired, "the sweep timer removed the expired value with no cache call");
        GcAssert.NotCollected(control, "the value written later has not expired");
        GC.KeepAlive(cache);
    }

    [Fact]
    public void AbandonedCache_WithExpiryTimer_IsCollected()
    {
        var abandoned = GcAssert.Track(() => NewExpiringCache(TimeProvider.System));
        GcAssert.Collected(abandoned, "the sweep timer holds the cache only weakly");
    }

    [Fact]
    public void AbandonedCache_Control_ReferencedCacheStaysAlive()
    {
        var cache = NewExpiringCache(TimeProvider.System);
        var tracked = new WeakReference(cache);
        GcAssert.NotCollected(tracked);
        GC.KeepAlive(cache);
        cache.Dispose();
    }

    [Fact]
    public void AbandonedCache_TimerStopsOnNextTick()
    {
        var time = new FakeTimeProvider();
        var abandoned = GcAssert.Track(() => NewExpiringCache(time));
        GcAssert.Collected(abandoned);
        time.Advance(TimeSpan.FromMinutes(5)); // the next tick finds the cache gone and disposes its timer
        time.Advance(TimeSpan.FromMinutes(5));
    }

    [Fact]
    public void TryRemove_FromTheMiddleOfAnIndexChain_RemovedValueIsCollected_NeighboursStayAlive()
    {
        // Every key hashes alike, so the three entries share one index chain (newest first: 3 -> 2 -> 1) and the
        // removed node still links to key 1's node: nothing resident may link back to the removed one.
        var cache = new BoundedLruCache<int, object>(8, new OneHashComparer());
        var first = Store(cache, 1);
        var removed = Store(cache, 2);
        var last = Store(cache, 3);
        Assert.True(Remove(cache, 2));
        GcAssert.Collected(removed, "a value removed from the middle of an index chain is no longer referenced");
        GcAssert.NotCollected(first, "the entry the removed node linked to is resident");
        GcAssert.NotCollected(last, "the entry that linked to the removed node is resident");
        Assert.True(cache.TryGet(1, out _));
        Assert.True(cache.TryGet(3, out _));
        GC.KeepAlive(cache);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference Store(BoundedLruCache<int, object> cache, int key)
    {
        var value = new object();
        cache.Set(key, value);
        return new WeakReference(value);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool Remove(BoundedLruCache<int, object> cache, int key) => cache.TryRemove(key, out _);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static BoundedLruCache<int, object> NewExpiringCache(TimeProvider time)
    {
        var cache = new BoundedLruCache<int, object>(new BoundedLruCacheOptions<int, object>
        {
            Capacity = 8,
            ExpireAfterAccess = TimeSpan.FromSeconds(5),
            TimeProvider = time,
        });
        cache.Set(1, new object());
        return cache;
    }

    private sealed class OneHashComparer : IEqualityComparer<int>
    {
        public bool Equals(int x, int y) => x == y;

        public int GetHashCode(int obj) => 42;
    }
}
