using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Caching;

namespace SafeRefs.Tests.Caching;

public sealed class BoundedLruCacheTests
{
    [Fact]
    public void Constructor_CapacityBelowOne_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BoundedLruCache<int, int>(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BoundedLruCache<int, int>(-5));
    }

    [Fact]
    public void Constructor_BadOptions_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => new BoundedLruCache<int, int>(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int> { Capacity = 1, MaxWeight = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int> { Capacity = 1, ExpireAfterWrite = TimeSpan.FromSeconds(-1) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int> { Capacity = 1, ExpireAfterAccess = TimeSpan.Zero }));
        Assert.Throws<ArgumentNullException>(() => new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int> { Capacity = 1, TimeProvider = null! }));
    }

    [Fact]
    public void Members_NullArguments_Throw()
    {
        using var cache = new BoundedLruCache<string, string>(4);
        Assert.Throws<ArgumentNullException>(() => cache.TryGet(null!, out _));
        Assert.Throws<ArgumentNullException>(() => cache.Set(null!, "v"));
        Assert.Throws<ArgumentNullException>(() => cache.TryRemove(null!, out _));
        Assert.Throws<ArgumentNullException>(() => cache.GetOrAdd(null!, k => k));
        Assert.Throws<ArgumentNullException>(() => cache.GetOrAdd("k", (Func<string, string>)null!));
        Assert.Throws<ArgumentNullException>(() => cache.GetOrAdd("k", null!, 1));
        Assert.Throws<ArgumentNullException>(() => { _ = cache.GetOrAddAsync("k", null!).AsTask(); });
    }

    [Fact]
    public void Members_AfterDispose_ThrowObjectDisposed()
    {
        var cache = new BoundedLruCache<int, int>(4);
        cache.Set(1, 1);
        cache.Dispose();
        cache.Dispose();
        Assert.Throws<ObjectDisposedException>(() => cache.TryGet(1, out _));
        Assert.Throws<ObjectDisposedException>(() => cache.Set(1, 1));
        Assert.Throws<ObjectDisposedException>(() => cache.GetOrAdd(1, k => k));
        Assert.Throws<ObjectDisposedException>(() => cache.TryRemove(1, out _));
        Assert.Throws<ObjectDisposedException>(() => cache.Clear());
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Set_ThenTryGet_ReturnsValue()
    {
        using var cache = new BoundedLruCache<int, string>(4);
        cache.Set(1, "one");
        Assert.True(cache.TryGet(1, out var value));
        Assert.Equal("one", value);
        Assert.False(cache.TryGet(2, out _));
        Assert.Equal(1, cache.Count);
        Assert.Equal(4, cache.Capacity);
    }

    [Fact]
    public void Set_BeyondCapacity_EvictsAndNeverExceedsCapacity()
    {
        using var cache = new BoundedLruCache<int, int>(10);
        var reasons = new List<CacheEvictionReason>();
        cache.Evicted += (_, e) => reasons.Add(e.Reason);
        for (var i = 0; i < 1000; i++)
        {
            cache.Set(i, i);
            Assert.True(cache.Count <= 10);
            Assert.True(cache.TryGet(i, out var v) && v == i, "the entry just written is present");
        }

        Assert.Equal(10, cache.Count);
        Assert.Equal(990, reasons.Count);
        Assert.All(reasons, r => Assert.Equal(CacheEvictionReason.Capacity, r));
        Assert.Equal(990, cache.Statistics.Evictions);
    }

    [Fact]
    public void Set_ExistingKey_ReplacesAndReportsReplaced()
    {
        using var cache = new BoundedLruCache<int, string>(4);
        CacheEvictedEventArgs<int, string>? seen = null;
        cache.Evicted += (_, e) => seen = e;
        cache.Set(1, "a");
        cache.Set(1, "b");
        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryGet(1, out var v));
        Assert.Equal("b", v);
        Assert.NotNull(seen);
        Assert.Equal(CacheEvictionReason.Replaced, seen.Reason);
        Assert.Equal("a", seen.Value);
        Assert.Equal(1, seen.Key);
    }

    [Fact]
    public void TryRemove_PresentAndAbsent_ReportsRemoved()
    {
        using var cache = new BoundedLruCache<int, string>(4);
        var reasons = new List<CacheEvictionReason>();
        cache.Evicted += (_, e) => reasons.Add(e.Reason);
        cache.Set(1, "a");
        Assert.True(cache.TryRemove(1, out var v));
        Assert.Equal("a", v);
        Assert.False(cache.TryRemove(1, out _));
        Assert.Equal(0, cache.Count);
        Assert.Equal([CacheEvictionReason.Removed], reasons);
    }

    [Fact]
    public void Clear_RemovesAllAndReportsCleared()
    {
        using var cache = new BoundedLruCache<int, int>(8);
        var reasons = new List<CacheEvictionReason>();
        cache.Evicted += (_, e) => reasons.Add(e.Reason);
        for (var i = 0; i < 5; i++)
        {
            cache.Set(i, i);
        }

        cache.Clear();
        Assert.Equal(0, cache.Count);
        Assert.False(cache.TryGet(3, out _));
        Assert.Equal(5, reasons.Count);
        Assert.All(reasons, r => Assert.Equal(CacheEvictionReason.Cleared, r));
        cache.Set(1, 1);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Statistics_CountHitsMissesAndRatio()
    {
        using var cache = new BoundedLruCache<int, int>(8);
        cache.Set(1, 1);
        cache.TryGet(1, out _);
        cache.TryGet(1, out _);
        cache.TryGet(1, out _);
        cache.TryGet(2, out _);
        var stats = cache.Statistics;
        Assert.Equal(3, stats.Hits);
        Assert.Equal(1, stats.Misses);
        Assert.Equal(0.75, stats.HitRatio, 3);
        Assert.Contains("Hits = 3", stats.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Comparer_IsUsed()
    {
        using var cache = new BoundedLruCache<string, int>(4, StringComparer.OrdinalIgnoreCase);
        cache.Set("Key", 1);
        Assert.True(cache.TryGet("KEY", out var v));
        Assert.Equal(1, v);
    }

    [Fact]
    public void Eviction_ScanOfOneTimeKeys_KeepsHotSet()
    {
        using var cache = new BoundedLruCache<int, int>(100);
        for (var round = 0; round < 3; round++)
        {
            for (var hot = 0; hot < 50; hot++)
            {
                cache.GetOrAdd(hot, k => k);
            }
        }

        for (var scan = 1000; scan < 1000 + 10_000; scan++)
        {
            cache.Set(scan, scan);
        }

        var survivors = Enumerable.Range(0, 50).Count(k => cache.TryGet(k, out _));
        Assert.True(survivors >= 45, $"only {survivors} of 50 hot keys survived a scan of 10 000 one-time keys");
    }

    [Fact]
    public void MaxWeight_EvictsByWeight()
    {
        using var cache = new BoundedLruCache<int, string>(new BoundedLruCacheOptions<int, string>
        {
            Capacity = 100,
            MaxWeight = 10,
            Weigher = static (_, v) => v.Length,
        });
        var reasons = new List<CacheEvictionReason>();
        cache.Evicted += (_, e) => reasons.Add(e.Reason);
        for (var i = 0; i < 20; i++)
        {
            cache.Set(i, "abc");
            Assert.True(cache.TotalWeight <= 10);
        }

        Assert.Equal(3, cache.Count);
        Assert.Equal(9, cache.TotalWeight);
        Assert.All(reasons, r => Assert.Equal(CacheEvictionReason.Weight, r));
    }

    [Fact]
    public void MaxWeight_BadWeights_Throw()
    {
        using var cache = new BoundedLruCache<int, long>(new BoundedLruCacheOptions<int, long>
        {
            Capacity = 100,
            MaxWeight = 10,
            Weigher = static (_, v) => v,
        });
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Set(1, -1));
        var tooHeavy = Assert.Throws<ArgumentException>(() => cache.Set(2, 11));
        Assert.Contains("not stored", tooHeavy.Message, StringComparison.Ordinal);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void ExpireAfterWrite_ExpiresOnReadAndBySweep()
    {
        var time = new FakeTimeProvider();
        using var cache = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int>
        {
            Capacity = 10,
            ExpireAfterWrite = TimeSpan.FromSeconds(10),
            ExpirationScanInterval = TimeSpan.FromSeconds(30),
            TimeProvider = time,
        });
        var reasons = new List<CacheEvictionReason>();
        cache.Evicted += (_, e) => reasons.Add(e.Reason);
        cache.Set(1, 1);
        cache.Set(2, 2);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(cache.TryGet(1, out _));
        time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.True(cache.TryGet(1, out _), "reads do not extend an expire-after-write entry, but it is not due yet");
        time.Advance(TimeSpan.FromSeconds(0.2));
        Assert.False(cache.TryGet(1, out _));
        Assert.Equal(1, cache.Count);
        time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(0, cache.Count);
        Assert.Equal([CacheEvictionReason.Expired, CacheEvictionReason.Expired], reasons);
    }

    [Fact]
    public void ExpireAfterAccess_ReadsExtendLifetime()
    {
        var time = new FakeTimeProvider();
        using var cache = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int>
        {
            Capacity = 10,
            ExpireAfterAccess = TimeSpan.FromSeconds(10),
            ExpirationScanInterval = TimeSpan.FromHours(1),
            TimeProvider = time,
        });
        cache.Set(1, 1);
        for (var i = 0; i < 5; i++)
        {
            time.Advance(TimeSpan.FromSeconds(8));
            Assert.True(cache.TryGet(1, out _));
        }

        time.Advance(TimeSpan.FromSeconds(10));
        Assert.False(cache.TryGet(1, out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void DisposeEvictedValues_DisposesEachValueExactlyOnce()
    {
        using var cache = new BoundedLruCache<int, CountingDisposable>(new BoundedLruCacheOptions<int, CountingDisposable>
        {
            Capacity = 2,
            DisposeEvictedValues = true,
        });
        var handedOut = cache.GetOrAdd(1, _ => new CountingDisposable());
        cache.Set(1, handedOut);
        Assert.Equal(0, handedOut.Disposals);
        cache.Set(1, new CountingDisposable());
        Assert.Equal(1, handedOut.Disposals);

        var all = new Dictionary<int, CountingDisposable>();
        for (var i = 0; i < 20; i++)
        {
            var value = new CountingDisposable();
            all[i] = value;
            cache.Set(i % 5, value);
            if (i % 3 == 0)
            {
                cache.TryRemove((i + 1) % 5);
            }
        }

        foreach (var value in all.Values)
        {
            var resident = Enumerable.Range(0, 5).Any(k => cache.TryGet(k, out var v) && ReferenceEquals(v, value));
            Assert.Equal(resident ? 0 : 1, value.Disposals);
        }

        var cleared = new CountingDisposable();
        cache.Set(6, cleared);
        cache.Clear();
        Assert.Equal(1, cleared.Disposals);
        Assert.Equal(1, handedOut.Disposals);
    }

    [Fact]
    public void DisposeEvictedValues_Dispose_DisposesResidentValuesOnce()
    {
        var cache = new BoundedLruCache<int, CountingDisposable>(new BoundedLruCacheOptions<int, CountingDisposable>
        {
            Capacity = 4,
            DisposeEvictedValues = true,
        });
        var value = new CountingDisposable();
        cache.Set(1, value);
        cache.Dispose();
        cache.Dispose();
        Assert.Equal(1, value.Disposals);
    }

    [Fact]
    public void Evicted_HandlerThrows_WriteSucceedsOtherHandlersAndDisposalStillRun()
    {
        var logger = new FakeLogger();
        using var cache = new BoundedLruCache<int, CountingDisposable>(new BoundedLruCacheOptions<int, CountingDisposable>
        {
            Capacity = 1,
            DisposeEvictedValues = true,
            Logger = logger,
        });
        var first = new CountingDisposable();
        cache.Set(1, first);
        var later = 0;
        cache.Evicted += (_, _) => throw new InvalidOperationException("handler");
        cache.Evicted += (_, _) => later++;
        cache.Set(2, new CountingDisposable());
        Assert.Equal(1, first.Disposals);
        Assert.Equal(1, later);
        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryGet(2, out _));
        var record = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(1400, record.Id.Id);
        Assert.IsType<InvalidOperationException>(record.Exception);
    }

    [Fact]
    public void Evicted_HandlerThrows_NoLookupOrGetOrAddFails_FailuresAreCounted()
    {
        // The reproduced case: a throwing Evicted handler made 169 of 400 GetOrAdd/TryGet calls throw.
        var time = new FakeTimeProvider();
        using var meterFactory = new TestMeterFactory();
        using var failures = new MetricCollector<long>(meterFactory, "SafeRefs", "saferefs.cache.callback.failures");
        using var cache = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int>
        {
            Capacity = 8,
            ExpireAfterWrite = TimeSpan.FromSeconds(10),
            TimeProvider = time,
            MeterFactory = meterFactory,
        });
        cache.Evicted += (_, _) => throw new InvalidOperationException("observer bug");
        var thrown = 0;
        for (var i = 0; i < 400; i++)
        {
            try
            {
                var key = i % 20;
                if (i % 2 == 0)
                {
                    Assert.Equal(key, cache.GetOrAdd(key, static k => k));
                }
                else
                {
                    _ = cache.TryGet(key, out _);
                }
            }
            catch (InvalidOperationException)
            {
                thrown++;
            }

            if (i % 50 == 49)
            {
                time.Advance(TimeSpan.FromSeconds(11)); // expired entries are removed by the lookups that find them
            }
        }

        Assert.Equal(0, thrown);
        var evictions = cache.Statistics.Evictions;
        Assert.True(evictions > 100, $"only {evictions} evictions: the test no longer exercises the handler");
        Assert.Equal(evictions, failures.GetMeasurementSnapshot().Where(m => (string?)m.Tags["saferefs.callback.kind"] == "evicted").Sum(m => m.Value));
    }

    [Fact]
    public async Task GetOrAdd_JoinerOfAStoreThatEvicts_GetsTheValueWhenTheHandlerThrows()
    {
        using var cache = new BoundedLruCache<int, string>(1);
        cache.Set(0, "resident");
        cache.Evicted += (_, _) => throw new InvalidOperationException("observer bug");
        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var creator = Task.Run(() => cache.GetOrAdd(1, _ =>
        {
            started.Set();
            release.WaitBounded();
            return "created";
        }));
        started.WaitBounded();
        var joiner = cache.GetOrAddAsync(1, (_, _) => ValueTask.FromResult("joiner's own"));
        Assert.False(joiner.IsCompleted); // it joined the running factory call
        release.Set();
        Assert.Equal("created", await creator.Bounded());
        Assert.Equal("created", await joiner.Bounded());
        Assert.True(cache.TryGet(1, out var stored));
        Assert.Equal("created", stored);
    }

    [Fact]
    public void DisposeEvictedValues_DisposalThrows_WritesSucceed_ClearAggregatesAndRethrows()
    {
        var logger = new FakeLogger();
        using var cache = new BoundedLruCache<int, IDisposable>(new BoundedLruCacheOptions<int, IDisposable>
        {
            Capacity = 1,
            DisposeEvictedValues = true,
            Logger = logger,
        });
        cache.Set(1, new ThrowingDisposable());
        cache.Set(2, new ThrowingDisposable()); // evicts 1: its disposal fails, the write does not
        Assert.True(cache.TryGet(2, out _));
        Assert.Equal(1401, Assert.Single(logger.Collector.GetSnapshot()).Id.Id);

        Assert.Throws<NotSupportedException>(cache.Clear);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void TryRemove_WithOut_HandsTheValueOverUndisposed_WithoutOut_Disposes()
    {
        using var cache = new BoundedLruCache<int, CountingDisposable>(new BoundedLruCacheOptions<int, CountingDisposable>
        {
            Capacity = 4,
            DisposeEvictedValues = true,
        });
        var reasons = new List<CacheEvictionReason>();
        cache.Evicted += (_, e) => reasons.Add(e.Reason);
        var handedOver = new CountingDisposable();
        cache.Set(1, handedOver);
        Assert.True(cache.TryRemove(1, out var removed));
        Assert.Same(handedOver, removed);
        Assert.Equal(0, handedOver.Disposals);

        var dropped = new CountingDisposable();
        cache.Set(2, dropped);
        Assert.True(cache.TryRemove(2));
        Assert.False(cache.TryRemove(2));
        Assert.Equal(1, dropped.Disposals);
        Assert.Equal([CacheEvictionReason.Removed, CacheEvictionReason.Removed], reasons);
    }

    [Fact]
    public void HugeCapacity_FewEntries_CostsWellUnderAMegabyte()
    {
        // The ghost filter and the index grow with the entries held, not with the capacity (they took 256 MB up front).
        var before = GC.GetAllocatedBytesForCurrentThread();
        using var cache = new BoundedLruCache<int, int>(100_000_000);
        for (var i = 0; i < 1_000; i++)
        {
            cache.Set(i, i);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 512 * 1024, $"{allocated:N0} bytes for 1 000 entries");
        Assert.Equal(1_000, cache.Count);
    }

    [Fact]
    public void Eviction_PrefersAnExpiredEntryOverALiveOne()
    {
        var time = new FakeTimeProvider();
        using var cache = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int>
        {
            Capacity = 10,
            ExpireAfterWrite = TimeSpan.FromSeconds(10),
            ExpirationScanInterval = TimeSpan.FromHours(1),
            TimeProvider = time,
        });
        var reasons = new List<(int Key, CacheEvictionReason Reason)>();
        cache.Evicted += (_, e) => reasons.Add((e.Key, e.Reason));
        for (var i = 0; i < 5; i++)
        {
            cache.Set(i, i);
            Assert.True(cache.TryGet(i, out _)); // read: the policy would give them another lap
        }

        time.Advance(TimeSpan.FromSeconds(5));
        for (var i = 5; i < 10; i++)
        {
            cache.Set(i, i);
        }

        time.Advance(TimeSpan.FromSeconds(6)); // 0–4 expired, 5–9 live; no sweep has run
        cache.Set(10, 10);
        var (key, reason) = Assert.Single(reasons);
        Assert.InRange(key, 0, 4);
        Assert.Equal(CacheEvictionReason.Expired, reason);
        for (var i = 5; i <= 10; i++)
        {
            Assert.True(cache.TryGet(i, out _), $"live key {i} was evicted");
        }
    }

    [Fact]
    public void GetOrAdd_Miss_RunsFactoryOnceAndCaches()
    {
        using var cache = new BoundedLruCache<int, string>(4);
        var calls = 0;
        Assert.Equal("1", cache.GetOrAdd(1, k => { calls++; return k.ToString(System.Globalization.CultureInfo.InvariantCulture); }));
        Assert.Equal("1", cache.GetOrAdd(1, k => { calls++; return "other"; }));
        Assert.Equal("x2", cache.GetOrAdd(2, static (k, prefix) => prefix + k, "x"));
        Assert.Equal(1, calls);
    }

    [Fact]
    public void GetOrAdd_ThrowingFactory_StoresNothingAndNextCallRetries()
    {
        using var cache = new BoundedLruCache<int, int>(4);
        Assert.Throws<InvalidOperationException>(() => cache.GetOrAdd(1, _ => throw new InvalidOperationException()));
        Assert.Equal(0, cache.Count);
        Assert.Equal(7, cache.GetOrAdd(1, _ => 7));
    }

    [Fact]
    public void GetOrAdd_ConcurrentCallers_RunFactoryOnce()
    {
        using var cache = new BoundedLruCache<int, object>(4);
        const int Callers = 4;
        using var entered = new ManualResetEventSlim();
        var release = new ManualResetEventSlim();
        var calls = 0;
        var results = new object[Callers];
        using var started = new CountdownEvent(Callers);
        var threads = Enumerable.Range(0, Callers).Select(i => new Thread(() =>
        {
            started.Signal();
            results[i] = cache.GetOrAdd(1, _ =>
            {
                Interlocked.Increment(ref calls);
                entered.Set();
                release.WaitBounded();
                return new object();
            });
        })).ToList();
        threads.ForEach(t => t.Start());
        started.WaitBounded();
        entered.WaitBounded();

        // Every other caller is either waiting for the running factory or will find the value when it finishes.
        release.Set();
        threads.ForEach(t => t.JoinBounded());
        Assert.Equal(1, calls);
        Assert.All(results, r => Assert.Same(results[0], r));
        release.Dispose();
    }

    [Fact]
    public async Task GetOrAddAsync_ConcurrentCallers_ShareOneFactoryCall()
    {
        using var cache = new BoundedLruCache<int, string>(4);
        var gate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        ValueTask<string> Factory(int key, CancellationToken token)
        {
            Interlocked.Increment(ref calls);
            return new ValueTask<string>(gate.Task);
        }

        var first = cache.GetOrAddAsync(1, Factory).AsTask();
        var second = cache.GetOrAddAsync(1, Factory).AsTask();
        Assert.False(first.IsCompleted);
        gate.SetResult("v");
        Assert.Equal("v", await first.Bounded());
        Assert.Equal("v", await second.Bounded());
        Assert.Equal(1, calls);
        Assert.True(cache.TryGet(1, out var cached));
        Assert.Equal("v", cached);
    }

    [Fact]
    public async Task GetOrAddAsync_OneCallerCancelled_OthersStillGetTheValue()
    {
        using var cache = new BoundedLruCache<int, string>(4);
        var gate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        CancellationToken factoryToken = default;
        ValueTask<string> Factory(int key, CancellationToken token)
        {
            factoryToken = token;
            return new ValueTask<string>(gate.Task);
        }

        using var cts = new CancellationTokenSource();
        var cancelled = cache.GetOrAddAsync(1, Factory, cts.Token).AsTask();
        var other = cache.GetOrAddAsync(1, Factory).AsTask();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.Bounded());
        Assert.False(factoryToken.IsCancellationRequested, "another caller still waits, so the factory goes on");
        gate.SetResult("v");
        Assert.Equal("v", await other.Bounded());
    }

    [Fact]
    public async Task GetOrAddAsync_EveryCallerCancelled_CancelsFactoryAndNextCallRetries()
    {
        using var cache = new BoundedLruCache<int, string>(4);
        CancellationToken factoryToken = default;
        async ValueTask<string> Hanging(int key, CancellationToken token)
        {
            factoryToken = token;
            await Task.Delay(Timeout.Infinite, token);
            return "never";
        }

        using var cts = new CancellationTokenSource();
        var call = cache.GetOrAddAsync(1, Hanging, cts.Token).AsTask();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.Bounded());
        Assert.True(factoryToken.IsCancellationRequested, "the last waiter left, so the factory was cancelled");
        Assert.Equal("fresh", await cache.GetOrAddAsync(1, static (_, _) => new ValueTask<string>("fresh")));
    }

    [Fact]
    public async Task GetOrAddAsync_ThrowingFactory_PropagatesAndStoresNothing()
    {
        using var cache = new BoundedLruCache<int, string>(4);
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await cache.GetOrAddAsync(1, static (_, _) => throw new InvalidOperationException()));
        Assert.Equal(0, cache.Count);
        Assert.Equal("ok", await cache.GetOrAddAsync(1, static (_, _) => new ValueTask<string>("ok")));
        Assert.Equal("ok", await cache.GetOrAddAsync(1, static (_, _) => new ValueTask<string>("other")));
    }

    [Fact]
    public async Task GetOrAddAsync_PreCancelledToken_Throws()
    {
        using var cache = new BoundedLruCache<int, string>(4);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await cache.GetOrAddAsync(1, static (_, _) => new ValueTask<string>("x"), new CancellationToken(true)));
    }

    private sealed class ThrowingDisposable : IDisposable
    {
        public void Dispose() => throw new NotSupportedException("dispose bug");
    }

    internal sealed class CountingDisposable : IDisposable
    {
        private int _disposals;

        public int Disposals => Volatile.Read(ref _disposals);

        public void Dispose() => Interlocked.Increment(ref _disposals);
    }
}
