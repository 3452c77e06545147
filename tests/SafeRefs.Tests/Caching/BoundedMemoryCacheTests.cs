using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Caching;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Caching;

public sealed class BoundedMemoryCacheTests
{
    private static readonly TimeSpan CallbackTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void Constructor_BadOptions_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => new BoundedMemoryCache(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BoundedMemoryCache(new BoundedMemoryCacheOptions { SizeLimit = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BoundedMemoryCache(new BoundedMemoryCacheOptions { ExpirationScanFrequency = TimeSpan.Zero }));
    }

    [Fact]
    public void Keys_EnumeratedWhileTheIndexGrows_EveryResidentKeyOnce()
    {
        // The index grows a few steps per insert, moving keys between two bucket arrays: an enumeration that walked
        // the arrays while they move would miss keys or see them twice. Keys is taken at one instant instead.
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 100_000 });
        for (var i = 0; i < 1_000; i++)
        {
            cache.Set(i, i);
        }

        var seen = new List<int>();
        using (var keys = cache.Keys.GetEnumerator())
        {
            for (var i = 0; i < 10 && keys.MoveNext(); i++)
            {
                seen.Add((int)keys.Current);
            }

            for (var i = 1_000; i < 20_000; i++)
            {
                cache.Set(i, i);
            }

            while (keys.MoveNext())
            {
                seen.Add((int)keys.Current);
            }
        }

        Assert.Equal(Enumerable.Range(0, 1_000), seen.Order());
    }

    [Fact]
    public void SetAndGet_ExtensionMethods_Work()
    {
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 10 });
        cache.Set("a", 1);
        Assert.Equal(1, cache.Get<int>("a"));
        Assert.True(cache.TryGetValue("a", out int value));
        Assert.Equal(1, value);
        Assert.False(cache.TryGetValue("b", out _));
        Assert.Equal(5, cache.GetOrCreate("c", _ => 5));
        cache.Remove("a");
        Assert.False(cache.TryGetValue("a", out _));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Set_WhenFull_EvictsInsteadOfRejecting()
    {
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 100 });
        for (var i = 0; i < 10_000; i++)
        {
            cache.Set(i, i);
            Assert.True(cache.TryGetValue(i, out _), "every write is stored");
            Assert.True(cache.Count <= 100);
        }

        Assert.Equal(100, cache.Count);
    }

    [Fact]
    public void SizeLimit_EntriesWithoutSizeCountAsOne_AndLargeEntriesEvictOthers()
    {
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 100, SizeLimit = 10 });
        for (var i = 0; i < 10; i++)
        {
            cache.Set(i, i); // no Size: counts as 1, no exception
        }

        Assert.Equal(10, cache.CurrentSize);
        cache.Set("big", "x", new MemoryCacheEntryOptions { Size = 6 });
        Assert.True(cache.TryGetValue("big", out _));
        Assert.True(cache.CurrentSize <= 10);
        Assert.Equal(5, cache.Count);
        var stats = cache.GetCurrentStatistics()!;
        Assert.Equal(5, stats.CurrentEntryCount);
        Assert.Equal(10, stats.CurrentEstimatedSize);
    }

    [Fact]
    public async Task SizeLimit_EntryLargerThanLimit_NotStoredAndCallbackGetsCapacity()
    {
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { SizeLimit = 10 });
        var reason = new TaskCompletionSource<EvictionReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new MemoryCacheEntryOptions { Size = 11 }
            .RegisterPostEvictionCallback((_, _, r, _) => reason.TrySetResult(r));
        cache.Set("huge", "x", options);
        Assert.False(cache.TryGetValue("huge", out _));
        Assert.Equal(EvictionReason.Capacity, await reason.Task.WaitAsync(CallbackTimeout));
    }

    [Fact]
    public void Size_Negative_Throws()
    {
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions());
        using var entry = cache.CreateEntry("k");
        Assert.Throws<ArgumentOutOfRangeException>(() => entry.Size = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => entry.SlidingExpiration = TimeSpan.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => entry.AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(-1));
    }

    [Fact]
    public void AbsoluteExpiration_ExpiresAtTheInstant()
    {
        var time = new FakeTimeProvider();
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { TimeProvider = time });
        cache.Set("k", "v", time.GetUtcNow().AddSeconds(10));
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.True(cache.TryGetValue("k", out _));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.TryGetValue("k", out _));
    }

    [Fact]
    public void RelativeExpiration_Expires()
    {
        var time = new FakeTimeProvider();
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { TimeProvider = time });
        cache.Set("k", "v", TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(9.9));
        Assert.True(cache.TryGetValue("k", out _));
        time.Advance(TimeSpan.FromSeconds(0.2));
        Assert.False(cache.TryGetValue("k", out _));
    }

    [Fact]
    public void AbsoluteExpiration_InThePast_NotStored()
    {
        var time = new FakeTimeProvider();
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { TimeProvider = time });
        cache.Set("k", "old");
        cache.Set("k", "v", time.GetUtcNow().AddSeconds(-1));
        Assert.False(cache.TryGetValue("k", out _));
    }

    [Fact]
    public void SlidingExpiration_ReadsExtend_AbsoluteCapsIt()
    {
        var time = new FakeTimeProvider();
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { TimeProvider = time, ExpirationScanFrequency = TimeSpan.FromHours(1) });
        cache.Set("k", "v", new MemoryCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(10), AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(25) });
        for (var i = 0; i < 3; i++)
        {
            time.Advance(TimeSpan.FromSeconds(8));
            Assert.True(cache.TryGetValue("k", out _));
        }

        time.Advance(TimeSpan.FromSeconds(2)); // 26 s: past the absolute cap although read 2 s ago
        Assert.False(cache.TryGetValue("k", out _));

        cache.Set("s", "v", new MemoryCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(10) });
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.False(cache.TryGetValue("s", out _));
    }

    [Fact]
    public async Task ExpirationToken_ActiveCallback_RemovesEntryWithTokenExpired()
    {
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions());
        using var cts = new CancellationTokenSource();
        var reason = new TaskCompletionSource<EvictionReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new MemoryCacheEntryOptions()
            .AddExpirationToken(new CancellationChangeToken(cts.Token))
            .RegisterPostEvictionCallback((_, _, r, _) => reason.TrySetResult(r));
        cache.Set("k", "v", options);
        Assert.True(cache.TryGetValue("k", out _));
        await cts.CancelAsync();
        Assert.Equal(0, cache.Count);
        Assert.False(cache.TryGetValue("k", out _));
        Assert.Equal(EvictionReason.TokenExpired, await reason.Task.WaitAsync(CallbackTimeout));
    }

    [Fact]
    public void ExpirationToken_Passive_CheckedOnRead()
    {
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions());
        var token = new PassiveToken();
        cache.Set("k", "v", new MemoryCacheEntryOptions().AddExpirationToken(token));
        Assert.True(cache.TryGetValue("k", out _));
        token.HasChanged = true;
        Assert.False(cache.TryGetValue("k", out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void ExpirationToken_AlreadyChanged_NotStored()
    {
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions());
        cache.Set("k", "v", new MemoryCacheEntryOptions().AddExpirationToken(new PassiveToken { HasChanged = true }));
        Assert.False(cache.TryGetValue("k", out _));
    }

    [Fact]
    public async Task PostEvictionCallbacks_GetRightReasons()
    {
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 1 });
        var reasons = new System.Collections.Concurrent.ConcurrentDictionary<string, EvictionReason>();
        using var all = new CountdownEvent(3);
        MemoryCacheEntryOptions Track(string name) => new MemoryCacheEntryOptions()
            .RegisterPostEvictionCallback((key, value, reason, state) =>
            {
                Assert.Equal("state", state);
                reasons[name] = reason;
                all.Signal();
            }, "state");

        cache.Set("a", 1, Track("replaced"));
        cache.Set("a", 2, Track("removed"));
        cache.Remove("a");
        cache.Set("b", 3, Track("capacity"));
        cache.Set("c", 4);
        await Task.Run(() => all.Wait(CallbackTimeout));
        Assert.Equal(EvictionReason.Replaced, reasons["replaced"]);
        Assert.Equal(EvictionReason.Removed, reasons["removed"]);
        Assert.Equal(EvictionReason.Capacity, reasons["capacity"]);
    }

    [Fact]
    public async Task PostEvictionCallbacks_Expired_RunFromSweepWithoutTraffic()
    {
        var time = new FakeTimeProvider();
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { TimeProvider = time, ExpirationScanFrequency = TimeSpan.FromSeconds(30) });
        var reason = new TaskCompletionSource<EvictionReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        cache.Set("k", "v", new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(10) }
            .RegisterPostEvictionCallback((_, _, r, _) => reason.TrySetResult(r)));
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(EvictionReason.Expired, await reason.Task.WaitAsync(CallbackTimeout));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task PostEvictionCallback_Throwing_DoesNotStopOthers_IsLoggedAndCounted()
    {
        var logger = new FakeLogger();
        using var meterFactory = new TestMeterFactory();
        using var failures = new MetricCollector<long>(meterFactory, "SafeRefs", "saferefs.cache.callback.failures");
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { LoggerFactory = new SingleLoggerFactory(logger), MeterFactory = meterFactory });
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cache.Set("a", 1, new MemoryCacheEntryOptions().RegisterPostEvictionCallback((_, _, _, _) => throw new InvalidOperationException()));
        cache.Set("b", 1, new MemoryCacheEntryOptions().RegisterPostEvictionCallback((_, _, _, _) => second.TrySetResult()));
        cache.Remove("a");
        cache.Remove("b");
        await second.Task.WaitAsync(CallbackTimeout);

        // One drainer runs the callbacks in order, so "a"'s failure was reported before "b"'s callback ran.
        var record = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == 1402);
        Assert.IsType<InvalidOperationException>(record.Exception);
        var counted = failures.GetMeasurementSnapshot().Where(m => (string?)m.Tags["saferefs.callback.kind"] == "post_eviction").Sum(m => m.Value);
        Assert.Equal(1, counted);
    }

    [Fact]
    public void Priority_LowerPrioritiesEvictedFirst_NeverRemoveLast()
    {
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 4 });
        cache.Set("never", 0, new MemoryCacheEntryOptions { Priority = CacheItemPriority.NeverRemove });
        cache.Set("high", 0, new MemoryCacheEntryOptions { Priority = CacheItemPriority.High });
        cache.Set("low", 0, new MemoryCacheEntryOptions { Priority = CacheItemPriority.Low });
        cache.Set("normal", 0);
        cache.Set("n1", 0);
        Assert.False(cache.TryGetValue("low", out _));
        cache.Set("n2", 0);
        cache.Set("n3", 0);
        Assert.True(cache.TryGetValue("never", out _));
        Assert.True(cache.TryGetValue("high", out _));
        Assert.Equal(4, cache.Count);
    }

    [Fact]
    public async Task Priority_EveryResidentNeverRemove_WriteStillStored_OldestNeverRemoveEvictedAndLogged()
    {
        var logger = new FakeLogger();
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 3, LoggerFactory = new SingleLoggerFactory(logger) });
        var evicted = new TaskCompletionSource<(object Key, EvictionReason Reason)>(TaskCreationOptions.RunContinuationsAsynchronously);
        for (var i = 0; i < 3; i++)
        {
            cache.Set(i, i, new MemoryCacheEntryOptions { Priority = CacheItemPriority.NeverRemove }
                .RegisterPostEvictionCallback((key, _, reason, _) => evicted.TrySetResult((key, reason))));
        }

        Assert.True(cache.TryGetValue(1, out _)); // read: 0 is the oldest and the only one never read
        Assert.True(cache.TryGetValue(2, out _));
        cache.Set("normal", 1);
        Assert.True(cache.TryGetValue("normal", out _), "a write is never rejected");
        Assert.Equal(3, cache.Count);
        Assert.Equal(((object)0, EvictionReason.Capacity), await evicted.Task.WaitAsync(CallbackTimeout));
        Assert.False(cache.TryGetValue(0, out _), "the least valuable (oldest, never read) NeverRemove entry left");
        var record = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(1405, record.Id.Id);
        Assert.Equal(LogLevel.Warning, record.Level);
    }

    [Fact]
    public void Priority_NeverRemove_OutlivesEveryOtherPriority_AndCompactKeepsIt()
    {
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 2 });
        cache.Set("never", 0, new MemoryCacheEntryOptions { Priority = CacheItemPriority.NeverRemove });
        for (var i = 0; i < 100; i++)
        {
            cache.Set(i, i, new MemoryCacheEntryOptions { Priority = (CacheItemPriority)(i % 3) });
            Assert.True(cache.TryGetValue("never", out _));
        }

        cache.Compact(1.0);
        Assert.Equal(new object[] { "never" }, cache.Keys);
    }

    [Fact]
    public void Compact_BadPercentage_Throws_AfterDispose_ThrowsObjectDisposed()
    {
        var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions());
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Compact(-0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Compact(1.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Compact(double.NaN));
        cache.Dispose();
        Assert.Throws<ObjectDisposedException>(() => cache.Compact(0.5));
    }

    [Fact]
    public void Compact_CountsEvictions()
    {
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions());
        for (var i = 0; i < 10; i++)
        {
            cache.Set(i, i);
        }

        cache.Compact(0.5);
        Assert.Equal(5, cache.Count);
        Assert.Equal(5, cache.Statistics.Evictions);
    }

    [Fact]
    public void Set_ValueThatIsAnEntry_IsStoredAsAValue()
    {
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions());
        using var other = cache.CreateEntry("other");
        cache.Set("k", other);
        Assert.Same(other, cache.Get("k"));
        cache.Set("k", "plain");
        Assert.Equal("plain", cache.Get("k"));
    }

    [Fact]
    public async Task Set_PlainOverCallbackOverPlain_EachCallbackRunsOnce()
    {
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions());
        var calls = 0;
        var done = new TaskCompletionSource<EvictionReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        cache.Set("k", 1);
        cache.Set("k", 2, new MemoryCacheEntryOptions().RegisterPostEvictionCallback((_, _, r, _) =>
        {
            Interlocked.Increment(ref calls);
            done.TrySetResult(r);
        }));
        Assert.Equal(2, cache.Get<int>("k"));
        cache.Set("k", 3);
        cache.Set("k", 4);
        Assert.Equal(4, cache.Get<int>("k"));
        Assert.Equal(EvictionReason.Replaced, await done.Task.WaitAsync(CallbackTimeout));
        cache.Remove("k");
        Assert.Equal(1, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task Dispose_RunsCallbacksWithRemoved()
    {
        var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions());
        var reason = new TaskCompletionSource<EvictionReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        cache.Set("a", 1, new MemoryCacheEntryOptions().RegisterPostEvictionCallback((_, _, r, _) => reason.TrySetResult(r)));
        cache.Dispose();
        Assert.Equal(EvictionReason.Removed, await reason.Task.WaitAsync(CallbackTimeout));
        Assert.Equal(0, cache.Count);
        Assert.Empty(cache.Keys);
    }

    [Fact]
    public void Statistics_TrackHitsAndMisses()
    {
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions());
        cache.Set("a", 1);
        cache.TryGetValue("a", out _);
        cache.TryGetValue("b", out _);
        var stats = cache.GetCurrentStatistics()!;
        Assert.Equal(1, stats.TotalHits);
        Assert.Equal(1, stats.TotalMisses);
        Assert.Equal(1, stats.CurrentEntryCount);
        Assert.Null(stats.CurrentEstimatedSize);
        Assert.Equal(1, cache.Statistics.Hits);
    }

    [Fact]
    public async Task Clear_And_Dispose_RemoveAll()
    {
        var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions());
        var reason = new TaskCompletionSource<EvictionReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        cache.Set("a", 1, new MemoryCacheEntryOptions().RegisterPostEvictionCallback((_, _, r, _) => reason.TrySetResult(r)));
        cache.Clear();
        Assert.Equal(0, cache.Count);
        Assert.Equal(EvictionReason.Removed, await reason.Task.WaitAsync(CallbackTimeout));
        cache.Set("b", 1);
        cache.Dispose();
        cache.Dispose();
        Assert.Throws<ObjectDisposedException>(() => cache.CreateEntry("x"));
        Assert.Throws<ObjectDisposedException>(() => cache.TryGetValue("b", out _));
    }

    [Fact]
    public void NullKey_Throws()
    {
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions());
        Assert.Throws<ArgumentNullException>(() => cache.CreateEntry(null!));
        Assert.Throws<ArgumentNullException>(() => cache.Remove(null!));
        Assert.Throws<ArgumentNullException>(() => cache.TryGetValue(null!, out _));
    }

    [Fact]
    public void ExpirationToken_RegistrationDisposeThrows_LookupAndRemoveSucceed_FailureIsLogged()
    {
        var logger = new FakeLogger();
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 8, LoggerFactory = new SingleLoggerFactory(logger) });
        var stale = new BrokenRegistrationToken();
        cache.Set("stale", 1, stale);
        cache.Set("removed", 2, new BrokenRegistrationToken());

        stale.HasChanged = true; // noticed by the next lookup, which removes the entry and drops its registration
        Assert.False(cache.TryGetValue("stale", out _));
        cache.Remove("removed");
        Assert.Equal(0, cache.Count);
        Assert.Equal([1406, 1406], logger.Collector.GetSnapshot().Select(r => r.Id.Id));
    }

    [Fact]
    public async Task LinkedEntries_ReadsPropagatingToAStoredParent_RaceWithItsLookups_NeverThrow()
    {
        await Task.Yield();
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { TrackLinkedCacheEntries = true });
        for (var i = 0; i < 20; i++)
        {
            cache.Set(i, i, new PassiveToken()); // entries whose tokens a read inside the parent's scope hands over
        }

        var parent = cache.CreateEntry("parent");
        parent.AddExpirationToken(new PassiveToken());
        parent.Value = "composite";
        var insideParentScope = ExecutionContext.Capture()!; // a flow that still sees the parent's scope open
        parent.Dispose();

        const int Iterations = 3000;
        using var start = new Barrier(2);
        var propagate = Task.Run(() => ExecutionContext.Run(insideParentScope, _ =>
        {
            start.SignalAndWaitBounded();
            for (var i = 0; i < Iterations; i++)
            {
                Assert.True(cache.TryGetValue(i % 20, out _));
            }
        }, null));
        var read = Task.Run(() =>
        {
            start.SignalAndWaitBounded();
            while (!propagate.IsCompleted)
            {
                Assert.True(cache.TryGetValue("parent", out _));
            }
        });
        await Task.WhenAll(propagate, read).Bounded();
    }

    [Fact]
    public void Priorities_ASmallNormalLevelBesideHighEntries_KeepsItsHotKeysAgainstAScan()
    {
        // 900 High entries leave about 100 slots to Normal. Normal's probation must be sized from Normal's own
        // occupancy: sized from the whole capacity (100), it never fills, and every eviction hits the hot keys.
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 1000 });
        var high = new MemoryCacheEntryOptions { Priority = CacheItemPriority.High };
        for (var i = 0; i < 900; i++)
        {
            cache.Set(("high", i), i, high);
        }

        var misses = 0;
        for (var round = 0; round < 200; round++)
        {
            for (var h = 0; h < 50; h++)
            {
                if (!cache.TryGetValue(("hot", h), out _))
                {
                    cache.Set(("hot", h), h);
                    if (round >= 100)
                    {
                        misses++;
                    }
                }
            }

            for (var j = 0; j < 20; j++)
            {
                cache.Set(("scan", (round * 20) + j), j); // one-time keys
            }
        }

        Assert.True(misses < 250, $"{misses} of 5000 hot lookups missed in the second half");
    }

    [Fact]
    public async Task Set_OverAnEntryThatExpiredUnseen_ReportsReplaced_AsMemoryCacheDoes()
    {
        var time = new FakeTimeProvider();
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions
        {
            TimeProvider = time,
            ExpirationScanFrequency = TimeSpan.FromHours(1),
        });
        var reason = new TaskCompletionSource<EvictionReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        cache.Set("k", 1, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(1) }
            .RegisterPostEvictionCallback((_, _, r, _) => reason.TrySetResult(r)));
        time.Advance(TimeSpan.FromMinutes(2)); // expired, but nothing read it or swept it
        cache.Set("k", 2);
        Assert.Equal(EvictionReason.Replaced, await reason.Task.WaitAsync(CallbackTimeout));
        Assert.True(cache.TryGetValue("k", out var value));
        Assert.Equal(2, value);
    }

    [Fact]
    public void Set_OverAnEntryWithAChangeToken_AsksTheTokenOutsideTheWriteLock()
    {
        // A token's HasChanged is user code: slow or re-entrant, it must not run inside the cache's global lock.
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions());
        var token = new LockProbeToken(() => cache.Engine.WriteLockHeldByCurrentThread);
        cache.Set("k", 1, new MemoryCacheEntryOptions().AddExpirationToken(token));
        token.Calls = 0;
        cache.Set("k", 2);
        Assert.True(token.Calls > 0, "the write did not ask whether the resident entry was stale");
        Assert.False(token.CalledUnderLock, "HasChanged ran under the cache's write lock");
        Assert.True(cache.TryGetValue("k", out var value));
        Assert.Equal(2, value);
    }

    private sealed class LockProbeToken(Func<bool> lockHeld) : IChangeToken
    {
        public int Calls { get; set; }

        public bool CalledUnderLock { get; private set; }

        public bool HasChanged
        {
            get
            {
                Calls++;
                CalledUnderLock |= lockHeld();
                return false;
            }
        }

        public bool ActiveChangeCallbacks => false;

        public IDisposable RegisterChangeCallback(Action<object?> callback, object? state) => throw new InvalidOperationException("passive");
    }

    private sealed class BrokenRegistrationToken : IChangeToken
    {
        public bool HasChanged { get; set; }

        public bool ActiveChangeCallbacks => true;

        public IDisposable RegisterChangeCallback(Action<object?> callback, object? state) => new ThrowingRegistration();

        private sealed class ThrowingRegistration : IDisposable
        {
            public void Dispose() => throw new InvalidOperationException("registration bug");
        }
    }

    private sealed class PassiveToken : IChangeToken
    {
        public bool HasChanged { get; set; }

        public bool ActiveChangeCallbacks => false;

        public IDisposable RegisterChangeCallback(Action<object?> callback, object? state) => throw new InvalidOperationException("passive");
    }

    private sealed class SingleLoggerFactory(ILogger logger) : ILoggerFactory
    {
        public void AddProvider(ILoggerProvider provider)
        {
        }

        public ILogger CreateLogger(string categoryName) => logger;

        public void Dispose()
        {
        }
    }
}
