using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Caching;
using SafeRefs.Tests.Infrastructure;
using static SafeRefs.Tests.Caching.BoundedLruCacheTests;

namespace SafeRefs.Tests.Caching;

/// <summary>The members BitFaster.Caching users migrating to <see cref="BoundedLruCache{TKey, TValue}"/> look for.</summary>
public sealed class BoundedLruCacheParityTests
{
    [Fact]
    public void Members_BadArguments_Throw()
    {
        using var cache = new BoundedLruCache<string, string>(4);
        Assert.Throws<ArgumentNullException>(() => cache.TryUpdate(null!, "v"));
        Assert.Throws<ArgumentNullException>(() => cache.AddOrUpdate(null!, "v"));
        Assert.Throws<ArgumentNullException>(() => cache.TryRemove(new KeyValuePair<string, string>(null!, "v")));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Trim(-1));
        Assert.Throws<ArgumentNullException>(() => cache.GetAlternateLookup<ReadOnlySpan<char>>().GetOrAdd("k".AsSpan(), (Func<string, string>)null!));
    }

    [Fact]
    public void Members_AfterDispose_ThrowObjectDisposed()
    {
        var cache = new BoundedLruCache<string, string>(4);
        var alternate = cache.GetAlternateLookup<ReadOnlySpan<char>>();
        cache.Dispose();
        Assert.Throws<ObjectDisposedException>(() => cache.TryUpdate("k", "v"));
        Assert.Throws<ObjectDisposedException>(() => cache.AddOrUpdate("k", "v"));
        Assert.Throws<ObjectDisposedException>(() => cache.TryRemove(new KeyValuePair<string, string>("k", "v")));
        Assert.Throws<ObjectDisposedException>(() => cache.Trim(1));
        Assert.Throws<ObjectDisposedException>(() => cache.Keys);
        Assert.Throws<ObjectDisposedException>(() => cache.GetEnumerator());
        Assert.Throws<ObjectDisposedException>(() => alternate.TryGet("k".AsSpan(), out _));
        Assert.Throws<ObjectDisposedException>(() => alternate.AddOrUpdate("k".AsSpan(), "v"));
    }

    [Fact]
    public void Comparer_ReturnsTheGivenOrTheDefaultComparer()
    {
        using var given = new BoundedLruCache<string, int>(4, StringComparer.OrdinalIgnoreCase);
        using var plain = new BoundedLruCache<string, int>(4);
        Assert.Same(StringComparer.OrdinalIgnoreCase, given.Comparer);
        Assert.Same(EqualityComparer<string>.Default, plain.Comparer);
    }

    [Fact]
    public void TryUpdate_AbsentKey_StoresNothingAndLeavesTheValueToTheCaller()
    {
        using var cache = new BoundedLruCache<int, CountingDisposable>(new BoundedLruCacheOptions<int, CountingDisposable> { Capacity = 4, DisposeEvictedValues = true });
        var value = new CountingDisposable();
        Assert.False(cache.TryUpdate(1, value));
        Assert.Equal(0, cache.Count);
        Assert.Equal(0, value.Disposals);
    }

    [Fact]
    public void TryUpdate_LiveKey_ReplacesDisposesTheOldValueAndRaisesUpdatedFirst()
    {
        using var cache = new BoundedLruCache<int, CountingDisposable>(new BoundedLruCacheOptions<int, CountingDisposable> { Capacity = 4, DisposeEvictedValues = true });
        var old = new CountingDisposable();
        var replacement = new CountingDisposable();
        cache.Set(1, old);
        var seen = new List<(int Key, CountingDisposable Old, CountingDisposable New, int OldDisposalsThen)>();
        cache.Updated += (sender, e) =>
        {
            Assert.Same(cache, sender);
            seen.Add((e.Key, e.OldValue, e.NewValue, e.OldValue.Disposals));
        };

        Assert.True(cache.TryUpdate(1, replacement));

        var update = Assert.Single(seen);
        Assert.Equal((1, old, replacement, 0), update); // the handler saw the old value before it was disposed
        Assert.Equal(1, old.Disposals);
        Assert.Equal(0, replacement.Disposals);
        Assert.True(cache.TryGet(1, out var got));
        Assert.Same(replacement, got);
    }

    [Fact]
    public void TryUpdate_ExpiredEntry_ReturnsFalse()
    {
        var time = new FakeTimeProvider();
        using var cache = new BoundedLruCache<int, string>(new BoundedLruCacheOptions<int, string>
        {
            Capacity = 4,
            ExpireAfterWrite = TimeSpan.FromSeconds(10),
            TimeProvider = time,
        });
        cache.Set(1, "one");
        Assert.True(cache.TryUpdate(1, "uno"));
        time.Advance(TimeSpan.FromSeconds(11));
        Assert.False(cache.TryUpdate(1, "eins"));
        Assert.False(cache.TryGet(1, out _));
    }

    [Fact]
    public void Updated_NotRaisedForInsertsOrWritesOverExpiredEntries()
    {
        var time = new FakeTimeProvider();
        using var cache = new BoundedLruCache<int, string>(new BoundedLruCacheOptions<int, string>
        {
            Capacity = 4,
            ExpireAfterWrite = TimeSpan.FromSeconds(10),
            TimeProvider = time,
        });
        var updates = 0;
        cache.Updated += (_, _) => updates++;
        cache.Set(1, "one");
        time.Advance(TimeSpan.FromSeconds(11));
        cache.Set(1, "uno");
        Assert.Equal(0, updates);
        cache.AddOrUpdate(1, "eins");
        Assert.Equal(1, updates);
    }

    [Fact]
    public void Updated_InPlaceUpdateWithoutOtherObservers_IsStillRaised()
    {
        // Without Evicted handlers, disposal or a removal hook, a write over a live entry takes the lock-free
        // in-place path (at capacities of 65 and more: smaller caches move every written key under the lock); an Updated
        // handler must keep it from skipping the notification.
        using var cache = new BoundedLruCache<int, string>(100);
        var updates = new List<(string Old, string New)>();
        cache.Set(1, "one");
        cache.Updated += (_, e) => updates.Add((e.OldValue, e.NewValue));
        cache.Set(1, "uno");
        Assert.Equal([("one", "uno")], updates);
    }

    [Fact]
    public void Updated_HandlerThrows_WriteSucceedsOtherHandlersRun_LoggedAndCounted()
    {
        var logger = new FakeLogger();
        using var meterFactory = new TestMeterFactory();
        using var failures = new MetricCollector<long>(meterFactory, "SafeRefs", "saferefs.cache.callback.failures");
        using var cache = new BoundedLruCache<int, string>(new BoundedLruCacheOptions<int, string>
        {
            Capacity = 4,
            Logger = logger,
            MeterFactory = meterFactory,
        });
        var later = 0;
        cache.Updated += (_, _) => throw new InvalidOperationException("observer bug");
        cache.Updated += (_, _) => later++;
        cache.Set(1, "one");

        cache.Set(1, "uno");
        Assert.True(cache.TryUpdate(1, "eins"));

        Assert.Equal(2, later);
        Assert.True(cache.TryGet(1, out var value));
        Assert.Equal("eins", value);
        Assert.All(logger.Collector.GetSnapshot(), r => Assert.Equal(1407, r.Id.Id));
        Assert.Equal(2, logger.Collector.Count);
        Assert.Equal(2, failures.GetMeasurementSnapshot().Where(m => (string?)m.Tags["saferefs.callback.kind"] == "updated").Sum(m => m.Value));
    }

    [Fact]
    public void TryRemovePair_RemovesOnlyAMatchingValue_AndDisposesIt()
    {
        using var cache = new BoundedLruCache<int, CountingDisposable>(new BoundedLruCacheOptions<int, CountingDisposable> { Capacity = 4, DisposeEvictedValues = true });
        var value = new CountingDisposable();
        cache.Set(1, value);
        var reasons = new List<CacheEvictionReason>();
        cache.Evicted += (_, e) => reasons.Add(e.Reason);

        Assert.False(cache.TryRemove(new KeyValuePair<int, CountingDisposable>(1, new CountingDisposable())));
        Assert.False(cache.TryRemove(new KeyValuePair<int, CountingDisposable>(2, value)));
        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryRemove(new KeyValuePair<int, CountingDisposable>(1, value)));

        Assert.Equal(0, cache.Count);
        Assert.Equal([CacheEvictionReason.Removed], reasons);
        Assert.Equal(1, value.Disposals);
    }

    [Fact]
    public void Trim_RemovesOneTimeKeysBeforeHotOnes_ReportsTrimmed_NotCountedAsEvictions()
    {
        using var cache = new BoundedLruCache<int, int>(100); // 65+: the frequency policy (smaller caches trim in write order)
        for (var i = 0; i < 100; i++)
        {
            cache.Set(i, i);
        }

        for (var round = 0; round < 3; round++)
        {
            for (var hot = 0; hot < 5; hot++)
            {
                Assert.True(cache.TryGet(hot, out _));
            }
        }

        var trimmed = new List<(int Key, CacheEvictionReason Reason)>();
        cache.Evicted += (_, e) => trimmed.Add((e.Key, e.Reason));

        Assert.Equal(5, cache.Trim(5));

        Assert.Equal(95, cache.Count);
        Assert.All(trimmed, t => Assert.Equal(CacheEvictionReason.Trimmed, t.Reason));
        // Keys never read leave first; which of them is the policy's choice (a newcomer seen once does not displace an
        // older entry seen once, so the newest may go first).
        Assert.All(trimmed, t => Assert.InRange(t.Key, 5, 99));
        Assert.Equal(5, trimmed.Select(t => t.Key).Distinct().Count());
        Assert.Equal([0, 1, 2, 3, 4], cache.Keys.Where(k => k < 5).Order());
        Assert.Equal(0, cache.Statistics.Evictions);
        Assert.Equal(95, cache.Trim(100));
        Assert.Equal(0, cache.Count);
        Assert.Equal(0, cache.Trim(1));
    }

    [Fact]
    public void Trim_ExpiredEntries_LeaveAsExpired()
    {
        var time = new FakeTimeProvider();
        using var cache = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int>
        {
            Capacity = 8,
            ExpireAfterWrite = TimeSpan.FromSeconds(10),
            ExpirationScanInterval = TimeSpan.FromDays(1), // the sweep must not remove it first
            TimeProvider = time,
        });
        cache.Set(1, 1);
        time.Advance(TimeSpan.FromSeconds(11));
        cache.Set(2, 2);
        var reasons = new Dictionary<int, CacheEvictionReason>();
        cache.Evicted += (_, e) => reasons[e.Key] = e.Reason;

        Assert.Equal(1, cache.Trim(1));

        Assert.Equal(CacheEvictionReason.Expired, Assert.Single(reasons).Value);
        Assert.Equal(1, cache.Statistics.Evictions);
        Assert.True(cache.TryGet(2, out _));
    }

    [Fact]
    public void KeysAndEnumeration_AreSnapshots_LaterWritesDoNotChangeThem()
    {
        using var cache = new BoundedLruCache<int, string>(8);
        cache.Set(1, "one");
        cache.Set(2, "two");

        var keys = cache.Keys;
        using var enumerator = cache.GetEnumerator();
        cache.Set(3, "three");
        cache.TryRemove(1);

        Assert.Equal([1, 2], keys.Order());
        var pairs = new List<KeyValuePair<int, string>>();
        while (enumerator.MoveNext())
        {
            pairs.Add(enumerator.Current);
        }

        Assert.Equal([new(1, "one"), new(2, "two")], pairs.OrderBy(p => p.Key));
        Assert.Equal([2, 3], cache.Keys.Order());
        Assert.Equal(0, cache.Statistics.Hits + cache.Statistics.Misses); // enumerating is not a lookup
    }

    [Fact]
    public void KeysAndEnumeration_LeaveOutExpiredEntries()
    {
        var time = new FakeTimeProvider();
        using var cache = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int>
        {
            Capacity = 8,
            ExpireAfterWrite = TimeSpan.FromSeconds(10),
            ExpirationScanInterval = TimeSpan.FromDays(1), // no sweep: the expired entry stays resident
            TimeProvider = time,
        });
        cache.Set(1, 1);
        time.Advance(TimeSpan.FromSeconds(6));
        cache.Set(2, 2);
        time.Advance(TimeSpan.FromSeconds(6));

        Assert.Equal(2, cache.Count);
        Assert.Equal([2], cache.Keys);
        Assert.Equal([new KeyValuePair<int, int>(2, 2)], cache);
    }

    [Fact]
    public void AlternateLookup_KeysWithoutAnAlternateComparer_AreRefused()
    {
        using var cache = new BoundedLruCache<int, int>(4);
        Assert.False(cache.TryGetAlternateLookup<long>(out _));
        Assert.Throws<InvalidOperationException>(() => cache.GetAlternateLookup<long>());
    }

    [Fact]
    public void AlternateLookup_SpanOfAnotherString_FindsTheKeyByContent()
    {
        using var cache = new BoundedLruCache<string, int>(4, StringComparer.OrdinalIgnoreCase);
        cache.Set("Alpha", 1);
        Assert.True(cache.TryGetAlternateLookup<ReadOnlySpan<char>>(out var alternate));
        Assert.Same(cache, alternate.Cache);

        Assert.True(alternate.TryGet("xALPHA".AsSpan(1), out var actualKey, out var value));
        Assert.Equal(("Alpha", 1), (actualKey, value));
        Assert.False(alternate.TryGet("beta".AsSpan(), out _));

        alternate.AddOrUpdate("ALPHA".AsSpan(), 2); // the resident key is kept
        alternate.AddOrUpdate("Beta".AsSpan(), 3);  // a new key is created from the span
        Assert.Equal(["Alpha", "Beta"], cache.Keys.Order(StringComparer.Ordinal));
        Assert.True(alternate.TryUpdate("beta".AsSpan(), 4));
        Assert.False(alternate.TryUpdate("gamma".AsSpan(), 5));
        Assert.Equal(4, alternate.GetOrAdd("BETA".AsSpan(), static _ => -1));
        Assert.Equal(5, alternate.GetOrAdd("Gamma".AsSpan(), static (key, arg) => key.Length + arg, 0));
        Assert.True(alternate.TryRemove("gAMMA".AsSpan(), out var removedKey, out var removed));
        Assert.Equal(("Gamma", 5), (removedKey, removed));
        Assert.Equal(new CacheStatistics(2, 2, 0).ToString(), cache.Statistics.ToString());
    }

    [Fact]
    public void AlternateLookup_DefaultStringComparer_LookupAllocatesNothing()
    {
        using var cache = new BoundedLruCache<string, int>(16);
        cache.Set("key-7", 7);
        var alternate = cache.GetAlternateLookup<ReadOnlySpan<char>>();
        var buffer = "#key-7".ToCharArray();
        Assert.True(alternate.TryGet(buffer.AsSpan(1), out _)); // warm up

        var before = GC.GetAllocatedBytesForCurrentThread();
        var hits = 0;
        for (var i = 0; i < 1_000; i++)
        {
            hits += alternate.TryGet(buffer.AsSpan(1), out var value) ? value : 0;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(7_000, hits);
    }
}
