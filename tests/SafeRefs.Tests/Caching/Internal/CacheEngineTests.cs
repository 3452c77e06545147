using SafeRefs.Caching;
using SafeRefs.Caching.Internal;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Caching.Internal;

/// <summary>The engine built from one settings object: what the public caches rely on beyond their own tests.</summary>
public sealed class CacheEngineTests
{
    [Fact]
    public void Settings_BadValues_ThrowWithTheSettingsName()
    {
        var owner = new object();
        Assert.Equal("Capacity", Assert.Throws<ArgumentOutOfRangeException>(() => new CacheEngine<int, int>(new CacheEngineSettings<int, int> { Owner = owner })).ParamName);
        Assert.Equal("MaxWeight", Assert.Throws<ArgumentOutOfRangeException>(() => new CacheEngine<int, int>(new CacheEngineSettings<int, int> { Owner = owner, Capacity = 1, MaxWeight = 0 })).ParamName);
        Assert.Throws<ArgumentNullException>(() => new CacheEngine<int, int>(null!));
    }

    [Fact]
    public void Events_AreSentByTheOwner_AndDisposalNamesIt()
    {
        var owner = new Owner();
        var engine = new CacheEngine<int, int>(new CacheEngineSettings<int, int> { Owner = owner, Capacity = 1 });
        var senders = new List<object?>();
        engine.Evicted += (sender, _) => senders.Add(sender);
        engine.Updated += (sender, _) => senders.Add(sender);
        engine.Set(1, 1);
        engine.Set(1, 2);
        engine.Set(2, 2);

        Assert.Equal([owner, owner, owner], senders); // Replaced, Updated, Capacity
        engine.Dispose();
        Assert.Equal(typeof(Owner).FullName, Assert.Throws<ObjectDisposedException>(() => engine.TryGet(1, out _)).ObjectName);
    }

    [Fact]
    public void Levels_AFullCacheEvictsTheLowestNonEmptyLevelFirst()
    {
        using var engine = new CacheEngine<int, int>(new CacheEngineSettings<int, int> { Owner = new object(), Capacity = 3, Levels = 2 });
        engine.WriteEntry(1, 1, weight: 1, level: 1, long.MaxValue, sliding: 0, mayBecomeStale: false);
        engine.WriteEntry(2, 2, weight: 1, level: 0, long.MaxValue, sliding: 0, mayBecomeStale: false);
        engine.WriteEntry(3, 3, weight: 1, level: 1, long.MaxValue, sliding: 0, mayBecomeStale: false);
        var evicted = new List<int>();
        engine.Evicted += (_, e) => evicted.Add(e.Key);

        engine.WriteEntry(4, 4, weight: 1, level: 1, long.MaxValue, sliding: 0, mayBecomeStale: false);

        Assert.Equal([2], evicted); // the only level-0 entry, although it is the newest
        Assert.Equal([1, 3, 4], engine.SnapshotKeys().Order());
    }

    [Fact]
    public void StalenessCheck_IsAskedOnlyAboutValuesWrittenAsMayBecomeStale()
    {
        // BoundedMemoryCache stores a value that cannot become stale bare; a hit on it (with an expiry to check, as
        // HybridCache's L1 entries have) must not pay for the staleness check.
        var asked = new System.Collections.Concurrent.ConcurrentBag<int>();
        using var engine = new CacheEngine<int, int>(new CacheEngineSettings<int, int>
        {
            Owner = new object(),
            Capacity = 4,
            IsStale = value =>
            {
                asked.Add(value);
                return false;
            },
        });
        engine.WriteEntry(1, 10, weight: 1, level: 0, long.MaxValue / 2, sliding: 0, mayBecomeStale: false);
        engine.WriteEntry(2, 20, weight: 1, level: 0, long.MaxValue / 2, sliding: 0, mayBecomeStale: true);

        Assert.True(engine.TryGet(1, out _));
        Assert.True(engine.TryGet(2, out _));

        Assert.DoesNotContain(10, asked);
        Assert.Contains(20, asked); // control: the check still runs where it can matter
    }

    [Fact]
    public async Task InPlaceUpdate_DoesNotWaitForTheWriteLock()
    {
        // A writer holds the write lock (blocked in the comparer, which the index calls under it); replacing the value
        // of another resident key must not queue behind it.
        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        CacheEngine<int, object>? engine = null;
        var armed = false;
        var comparer = new DelegateComparer<int>(
            (x, y) =>
            {
                if (Volatile.Read(ref armed) && engine!.WriteLockHeldByCurrentThread)
                {
                    held.Set();
                    release.WaitBounded();
                }

                return x == y;
            },
            _ => 0); // one chain, so every index lookup compares keys
        engine = new CacheEngine<int, object>(new CacheEngineSettings<int, object> { Owner = new object(), Capacity = CachePolicy<int, object>.WriteOrderBelow, Comparer = comparer });
        engine.Set(1, "a");
        Volatile.Write(ref armed, true);
        var writer = Task.Run(() => engine.Set(2, "b"));
        held.WaitBounded();

        // A thread of its own: with the writer blocking a pool thread and other tests' waits blocking more, a pool work
        // item may not even start within the bound on a loaded machine. The writer is released only after the bound.
        var update = Task.Factory.StartNew(() => engine.Set(1, "c"), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var finished = await Task.WhenAny(update, Task.Delay(TestTimeouts.Bound));
        release.Set();
        await writer.Bounded();
        await update.Bounded();

        Assert.Same(update, finished);
        Assert.True(engine.TryGet(1, out var value));
        Assert.Equal("c", value);
        engine.Dispose();
    }

    [Fact]
    public async Task InPlaceUpdate_RacingRemoveIfValueMatches_IsNeverLost()
    {
        // TryRemove(KeyValuePair) compares, then unlinks. An in-place update that slipped in between would be removed
        // with the entry although its Set returned: it must either be compared (and block the removal) or come after
        // it (and store a fresh entry).
        using var comparing = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        using var updateFound = new ManualResetEventSlim();
        Thread? updater = null;
        var comparer = new DelegateComparer<int>(
            (x, y) =>
            {
                if (ReferenceEquals(Thread.CurrentThread, Volatile.Read(ref updater)))
                {
                    updateFound.Set(); // the update found the resident entry: next it takes the in-place path
                }

                return x == y;
            },
            static x => x);
        using var engine = new CacheEngine<int, BlockingValue>(new CacheEngineSettings<int, BlockingValue> { Owner = new object(), Capacity = CachePolicy<int, BlockingValue>.WriteOrderBelow, Comparer = comparer });
        var first = new BlockingValue(comparing, release);
        var second = new BlockingValue(null, null);
        engine.Set(1, first);
        var remover = Task.Run(() => engine.TryRemove(new KeyValuePair<int, BlockingValue>(1, first)));
        comparing.WaitBounded();

        // The update runs on a thread of its own, so the test can see it block: once it has found the entry, it either
        // completes (slipping in between, the bug) or blocks on a lock the removal holds, and only then is the removal
        // let go. No timing decides what is proved.
        var update = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            engine.Set(1, second);
            update.SetResult();
        });
        Volatile.Write(ref updater, thread);
        thread.Start();
        updateFound.WaitBounded();
        Assert.True(
            SpinWait.SpinUntil(() => update.Task.IsCompleted || (thread.ThreadState & ThreadState.WaitSleepJoin) != 0, TestTimeouts.Bound),
            "the update neither completed nor blocked");
        release.Set();
        var removed = await remover.Bounded();
        await update.Task.Bounded();
        thread.JoinBounded();

        Assert.True(removed);
        Assert.True(engine.TryGet(1, out var value)); // the update came after the removal: a fresh entry
        Assert.Same(second, value);
    }

    [Fact]
    public async Task Set_StopsInTheMiddleOfAGrowth_TheGrowthIsFinishedInTheBackground()
    {
        // Inserts move a few nodes each: a cache whose inserts stop while the index grows would leave the keys not yet
        // moved in the old bucket array, and every lookup of them searching both arrays, for good.
        using var engine = new CacheEngine<long, long>(new CacheEngineSettings<long, long> { Owner = new object(), Capacity = 100_000 });
        var completed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        CacheEngine<long, long>.GrowthCompletedHook = e =>
        {
            if (ReferenceEquals(e, engine))
            {
                completed.TrySetResult();
            }
        };
        try
        {
            // The index starts with 1,024 buckets; the insert that finds 1,025 entries starts a growth that the
            // inserts after it (far fewer than the ~500 a growth of this size needs) cannot finish.
            const long entries = 1_100;
            for (var key = 0L; key < entries; key++)
            {
                engine.Set(key, key);
            }

            await completed.Task.WaitAsync(TimeSpan.FromSeconds(30));

            Assert.False(engine.IndexIsMigrating);
            Assert.Equal(2_048, engine.IndexBucketCount);
            for (var key = 0L; key < entries; key++)
            {
                Assert.True(engine.TryGet(key, out var value) && value == key, $"key {key}");
            }
        }
        finally
        {
            CacheEngine<long, long>.GrowthCompletedHook = null;
        }
    }

    [Fact]
    public void Set_GrowingFromEmptyToAMillionEntries_DoesBoundedGrowthWorkPerInsert()
    {
        // The index and the frequency sketch both grow about twenty times on the way; no insert may pay for a whole
        // array (before incremental growth, the insert that crossed a size copied or relinked all of it under the lock).
        const int entries = 1 << 20;
        using var engine = new CacheEngine<int, int>(new CacheEngineSettings<int, int> { Owner = new object(), Capacity = entries });
        var (maxIndexSteps, maxSketchBlocks) = (0L, 0L);
        for (var key = 0; key < entries; key++)
        {
            var (steps, blocks) = (engine.IndexMigrationSteps, engine.SketchBlocksCopied);
            engine.Set(key, key);
            maxIndexSteps = Math.Max(maxIndexSteps, engine.IndexMigrationSteps - steps);
            maxSketchBlocks = Math.Max(maxSketchBlocks, engine.SketchBlocksCopied - blocks);
        }

        Assert.Equal(entries, engine.Count);
        Assert.Equal(CacheTable<int, int>.StepsPerAdd, maxIndexSteps);
        Assert.InRange(maxSketchBlocks, 1, FrequencySketch.BlocksPerAdd + 1); // in order, plus the block it touched
        Assert.True(engine.IndexBucketCount >= entries, $"{engine.IndexBucketCount} buckets");
        Assert.True(engine.SketchBytes >= entries * 16L, $"{engine.SketchBytes} sketch bytes");
        for (var key = 0; key < entries; key += 101)
        {
            Assert.True(engine.TryGet(key, out var value) && value == key, $"key {key}");
        }
    }

    private sealed class Owner;

    private sealed class DelegateComparer<T>(Func<T, T, bool> equals, Func<T, int> hash) : IEqualityComparer<T>
    {
        public bool Equals(T? x, T? y) => equals(x!, y!);

        public int GetHashCode(T obj) => hash(obj);
    }

    /// <summary>A value whose equality check signals and waits (the first time), to hold a comparison open.</summary>
    private sealed class BlockingValue(ManualResetEventSlim? comparing, ManualResetEventSlim? release)
    {
        public override bool Equals(object? obj)
        {
            comparing?.Set();
            release?.WaitBounded();
            return ReferenceEquals(this, obj);
        }

        public override int GetHashCode() => 0;
    }
}
