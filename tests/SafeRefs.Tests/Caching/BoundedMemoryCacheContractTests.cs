using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Caching;

namespace SafeRefs.Tests.Caching;

/// <summary>
/// Runs the same <see cref="IMemoryCache"/> scenario against Microsoft's <see cref="MemoryCache"/> and
/// <see cref="BoundedMemoryCache"/>, so a difference in behaviour shows up as one failing row.
/// </summary>
public sealed class BoundedMemoryCacheContractTests
{
    private static readonly TimeSpan CallbackTimeout = TimeSpan.FromSeconds(30);

    public static TheoryData<string> Kinds => new() { nameof(MemoryCache), nameof(BoundedMemoryCache) };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void LinkedEntries_ChildTokenAndExpiration_PropagateToParent(string kind)
    {
        var time = new FakeTimeProvider();
        using var cache = Create(kind, time, trackLinked: true);
        using var cts = new CancellationTokenSource();
        var childExpiry = time.GetUtcNow().AddSeconds(10);
        cache.GetOrCreate("parent", parent =>
        {
            cache.GetOrCreate("child", child =>
            {
                child.AddExpirationToken(new CancellationChangeToken(cts.Token));
                child.AbsoluteExpiration = childExpiry;
                return 1;
            });
            Assert.Single(parent.ExpirationTokens);
            Assert.Equal(childExpiry, parent.AbsoluteExpiration);
            return 2;
        });

        Assert.True(cache.TryGetValue("parent", out _));
        cts.Cancel();
        Assert.False(cache.TryGetValue("parent", out _), "the child's token expires the parent");
        Assert.False(cache.TryGetValue("child", out _));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void LinkedEntries_ChildRelativeExpiration_CapsParent(string kind)
    {
        var time = new FakeTimeProvider();
        using var cache = Create(kind, time, trackLinked: true);
        cache.GetOrCreate("parent", _ =>
        {
            cache.GetOrCreate("child", child =>
            {
                child.AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(10);
                return 1;
            });
            return 2;
        });

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.True(cache.TryGetValue("parent", out _));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(cache.TryGetValue("parent", out _), "the parent inherits the child's absolute expiration");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void LinkedEntries_HitInsideScope_PropagatesCachedEntryToken(string kind)
    {
        var time = new FakeTimeProvider();
        using var cache = Create(kind, time, trackLinked: true);
        using var cts = new CancellationTokenSource();
        cache.Set("child", 1, new MemoryCacheEntryOptions().AddExpirationToken(new CancellationChangeToken(cts.Token)));
        cache.GetOrCreate("parent", _ => cache.Get<int>("child") + 1);
        Assert.True(cache.TryGetValue("parent", out _));
        cts.Cancel();
        Assert.False(cache.TryGetValue("parent", out _), "a value read while the parent was created links the parent to it");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task LinkedEntries_ChildDisposedAfterParentWasStored_ChildTokenExpiresParent(string kind)
    {
        // async: the entries' creation scopes live in an AsyncLocal, which an async method restores on return.
        await Task.Yield();
        var time = new FakeTimeProvider();
        using var cache = Create(kind, time, trackLinked: true);
        using var cts = new CancellationTokenSource();
        var parent = cache.CreateEntry("parent");
        var child = cache.CreateEntry("child");
        child.AddExpirationToken(new CancellationChangeToken(cts.Token));
        child.Value = 1;
        parent.Value = 2;
        parent.Dispose(); // the parent is stored first...
        Assert.True(cache.TryGetValue("parent", out _));
        child.Dispose(); // ...then the child hands its token to the stored parent
        Assert.True(cache.TryGetValue("parent", out _));
        cts.Cancel();
        Assert.False(cache.TryGetValue("parent", out _), "the stored parent expires with the child's token");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task LinkedEntries_ChildDisposedAfterParentWasStored_ChildExpirationCapsParent(string kind)
    {
        await Task.Yield();
        var time = new FakeTimeProvider();
        using var cache = Create(kind, time, trackLinked: true);
        var parent = cache.CreateEntry("parent");
        var child = cache.CreateEntry("child");
        child.AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(10);
        child.Value = 1;
        parent.Value = 2;
        parent.Dispose();
        child.Dispose();
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.True(cache.TryGetValue("parent", out _));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(cache.TryGetValue("parent", out _), "the stored parent inherits the child's absolute expiration");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void LinkedEntries_TrackingOff_NothingPropagates(string kind)
    {
        var time = new FakeTimeProvider();
        using var cache = Create(kind, time, trackLinked: false);
        using var cts = new CancellationTokenSource();
        cache.GetOrCreate("parent", parent =>
        {
            cache.GetOrCreate("child", child =>
            {
                child.AddExpirationToken(new CancellationChangeToken(cts.Token));
                return 1;
            });
            Assert.Empty(parent.ExpirationTokens);
            return 2;
        });

        cts.Cancel();
        Assert.True(cache.TryGetValue("parent", out _));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void LinkedEntries_ScopeClosesOnDispose_SiblingsAreNotLinked(string kind)
    {
        var time = new FakeTimeProvider();
        using var cache = Create(kind, time, trackLinked: true);
        using var cts = new CancellationTokenSource();
        using (var first = cache.CreateEntry("first"))
        {
            first.AddExpirationToken(new CancellationChangeToken(cts.Token));
            first.Value = 1;
        }

        cache.Set("second", 2);
        cts.Cancel();
        Assert.False(cache.TryGetValue("first", out _));
        Assert.True(cache.TryGetValue("second", out _), "an entry created after the first one's scope closed is independent");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EntryDispose_ValueNeverSet_CommitsNothing(string kind)
    {
        using var cache = Create(kind, new FakeTimeProvider());
        cache.Set("k", "old");
        using (cache.CreateEntry("k"))
        {
        }

        Assert.Equal("old", cache.Get<string>("k"));
        Assert.Throws<InvalidOperationException>(() => cache.GetOrCreate<string>("k2", _ => throw new InvalidOperationException()));
        Assert.False(cache.TryGetValue("k2", out _), "a throwing factory stores nothing");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EntryDispose_SecondDispose_DoesNotCommitAgain(string kind)
    {
        using var cache = Create(kind, new FakeTimeProvider());
        var entry = cache.CreateEntry("k");
        entry.Value = "v";
        entry.Dispose();
        Assert.Equal("v", cache.Get<string>("k"));
        cache.Remove("k");
        entry.Dispose();
        Assert.False(cache.TryGetValue("k", out _));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EntryDispose_NullValue_IsStored(string kind)
    {
        using var cache = Create(kind, new FakeTimeProvider());
        cache.Set<object?>("k", null);
        Assert.True(cache.TryGetValue("k", out var value));
        Assert.Null(value);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Compact_RemovesLowThenNormalThenHigh_NeverNeverRemove(string kind)
    {
        using var cache = Create(kind, new FakeTimeProvider(), sizeLimit: 100);
        var reasons = new System.Collections.Concurrent.ConcurrentDictionary<string, EvictionReason>();
        using var evicted = new CountdownEvent(3);
        foreach (var priority in Enum.GetValues<CacheItemPriority>())
        {
            var name = priority.ToString();
            cache.Set(name, 1, new MemoryCacheEntryOptions { Priority = priority, Size = 1 }
                .RegisterPostEvictionCallback((key, _, reason, _) =>
                {
                    reasons[(string)key] = reason;
                    evicted.Signal();
                }));
        }

        cache.Compact(0.25);
        Assert.False(cache.TryGetValue("Low", out _));
        Assert.True(cache.TryGetValue("Normal", out _));
        cache.Compact(1.0);
        Assert.True(cache.TryGetValue("NeverRemove", out _), "compaction never removes NeverRemove entries");
        Assert.False(cache.TryGetValue("Normal", out _));
        Assert.False(cache.TryGetValue("High", out _));
        Assert.Single(cache.Keys);
        await Task.Run(() => evicted.Wait(CallbackTimeout));
        Assert.All(reasons.Values, reason => Assert.Equal(EvictionReason.Capacity, reason));
        Assert.Equal(["High", "Low", "Normal"], reasons.Keys.Order());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Compact_Zero_RemovesOnlyExpired(string kind)
    {
        var time = new FakeTimeProvider();
        using var cache = Create(kind, time);
        cache.Set("expiring", 1, TimeSpan.FromSeconds(5));
        cache.Set("fresh", 2);
        time.Advance(TimeSpan.FromSeconds(6));
        cache.Compact(0);
        Assert.Equal(["fresh"], cache.Keys.Cast<string>());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Clear_RemovesEverything_CallbacksGetRemoved(string kind)
    {
        using var cache = Create(kind, new FakeTimeProvider());
        var reason = new TaskCompletionSource<EvictionReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        cache.Set("a", 1, new MemoryCacheEntryOptions().RegisterPostEvictionCallback((_, _, r, _) => reason.TrySetResult(r)));
        cache.Set("b", 2);
        Assert.Equal(["a", "b"], cache.Keys.Cast<string>().Order());
        cache.Clear();
        Assert.Empty(cache.Keys);
        Assert.False(cache.TryGetValue("a", out _));
        Assert.Equal(EvictionReason.Removed, await reason.Task.WaitAsync(CallbackTimeout));
        Assert.Equal(0, cache.GetCurrentStatistics()!.CurrentEntryCount);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Set_ReplacementAlreadyExpired_OldGetsReplacedNewGetsExpired(string kind)
    {
        var time = new FakeTimeProvider();
        using var cache = Create(kind, time);
        var oldReason = new TaskCompletionSource<EvictionReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        var newReason = new TaskCompletionSource<EvictionReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        cache.Set("k", 1, new MemoryCacheEntryOptions().RegisterPostEvictionCallback((_, _, r, _) => oldReason.TrySetResult(r)));
        cache.Set("k", 2, new MemoryCacheEntryOptions { AbsoluteExpiration = time.GetUtcNow().AddSeconds(-1) }
            .RegisterPostEvictionCallback((_, _, r, _) => newReason.TrySetResult(r)));
        Assert.False(cache.TryGetValue("k", out _));
        Assert.Equal(EvictionReason.Replaced, await oldReason.Task.WaitAsync(CallbackTimeout));
        Assert.Equal(EvictionReason.Expired, await newReason.Task.WaitAsync(CallbackTimeout));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Set_ReplacesValue_OldCallbackGetsReplacedWithOldValue(string kind)
    {
        using var cache = Create(kind, new FakeTimeProvider());
        var old = new TaskCompletionSource<(object? Value, EvictionReason Reason)>(TaskCreationOptions.RunContinuationsAsynchronously);
        cache.Set("k", "one", new MemoryCacheEntryOptions().RegisterPostEvictionCallback((_, v, r, _) => old.TrySetResult((v, r))));
        cache.Set("k", "two");
        Assert.Equal("two", cache.Get<string>("k"));
        Assert.Equal(("one", EvictionReason.Replaced), await old.Task.WaitAsync(CallbackTimeout));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Statistics_HitsMissesCountAndSize(string kind)
    {
        using var cache = Create(kind, new FakeTimeProvider(), sizeLimit: 10);
        cache.Set("a", 1, new MemoryCacheEntryOptions { Size = 3 });
        cache.TryGetValue("a", out _);
        cache.TryGetValue("a", out _);
        cache.TryGetValue("b", out _);
        var stats = cache.GetCurrentStatistics()!;
        Assert.Equal(2, stats.TotalHits);
        Assert.Equal(1, stats.TotalMisses);
        Assert.Equal(1, stats.CurrentEntryCount);
        Assert.Equal(3, stats.CurrentEstimatedSize);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void UseAfterDispose_ThrowsObjectDisposed_CommitOfOpenEntryIsIgnored(string kind)
    {
        var cache = Create(kind, new FakeTimeProvider());
        cache.Set("a", 1);
        var open = cache.CreateEntry("late");
        open.Value = 1;
        cache.Dispose();
        open.Dispose();
        cache.Dispose();
        Assert.Throws<ObjectDisposedException>(() => cache.TryGetValue("a", out _));
        Assert.Throws<ObjectDisposedException>(() => cache.CreateEntry("b"));
        Assert.Throws<ObjectDisposedException>(() => cache.Remove("a"));
        Assert.Throws<ObjectDisposedException>(() => cache.Clear());
        Assert.NotNull(cache.GetCurrentStatistics());
        Assert.DoesNotContain("late", cache.Keys);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void NullKey_ThrowsArgumentNull(string kind)
    {
        using var cache = Create(kind, new FakeTimeProvider());
        Assert.Throws<ArgumentNullException>(() => cache.CreateEntry(null!));
        Assert.Throws<ArgumentNullException>(() => cache.TryGetValue(null!, out _));
        Assert.Throws<ArgumentNullException>(() => cache.Remove(null!));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EntryValidation_SameExceptions(string kind)
    {
        using var cache = Create(kind, new FakeTimeProvider());
        using var entry = cache.CreateEntry("k");
        Assert.Throws<ArgumentOutOfRangeException>(() => entry.Size = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => entry.SlidingExpiration = TimeSpan.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => entry.AbsoluteExpirationRelativeToNow = TimeSpan.Zero);
        Assert.Equal(CacheItemPriority.Normal, entry.Priority);
        Assert.Equal("k", entry.Key);
    }

    private static ContractCache Create(string kind, FakeTimeProvider time, bool trackLinked = false, long? sizeLimit = null)
        => kind == nameof(MemoryCache)
            ? new ContractCache(new MemoryCache(new MemoryCacheOptions
            {
                Clock = new FakeClock(time),
                TrackLinkedCacheEntries = trackLinked,
                TrackStatistics = true,
                SizeLimit = sizeLimit,
            }))
            : new ContractCache(new BoundedMemoryCache(new BoundedMemoryCacheOptions
            {
                TimeProvider = time,
                TrackLinkedCacheEntries = trackLinked,
                SizeLimit = sizeLimit,
            }));

    /// <summary>The members both caches have beyond <see cref="IMemoryCache"/> (Keys, Compact), forwarded by type.</summary>
    private sealed class ContractCache(IMemoryCache inner) : IMemoryCache
    {
        public IEnumerable<object> Keys => inner is MemoryCache memory ? memory.Keys : ((BoundedMemoryCache)inner).Keys;

        public void Compact(double percentage)
        {
            if (inner is MemoryCache memory)
            {
                memory.Compact(percentage);
            }
            else
            {
                ((BoundedMemoryCache)inner).Compact(percentage);
            }
        }

        public void Clear()
        {
            if (inner is MemoryCache memory)
            {
                memory.Clear();
            }
            else
            {
                ((BoundedMemoryCache)inner).Clear();
            }
        }

        public ICacheEntry CreateEntry(object key) => inner.CreateEntry(key);

        public void Dispose() => inner.Dispose();

        public void Remove(object key) => inner.Remove(key);

        public bool TryGetValue(object key, out object? value) => inner.TryGetValue(key, out value);

        public MemoryCacheStatistics? GetCurrentStatistics() => inner.GetCurrentStatistics();
    }

    private sealed class FakeClock(FakeTimeProvider time) : Microsoft.Extensions.Internal.ISystemClock
    {
        public DateTimeOffset UtcNow => time.GetUtcNow();
    }
}
