using SafeRefs.Caching;
using SafeRefs.Caching.Internal;

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

    private sealed class Owner;
}
