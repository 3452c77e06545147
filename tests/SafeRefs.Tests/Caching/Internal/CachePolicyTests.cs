using SafeRefs.Caching.Internal;

namespace SafeRefs.Tests.Caching.Internal;

public sealed class CachePolicyTests
{
    [Fact]
    public void Evict_EveryEntryHot_GivesAtMostABoundedNumberOfSecondChances()
    {
        // A CLOCK whose entries are all at the top counter would otherwise walk the whole queue three times under the
        // cache's lock for one insert.
        var policy = new CachePolicy<int, int>();
        var nodes = new List<CacheNode<int, int>>();
        for (var i = 0; i < 10_000; i++)
        {
            var node = new CacheNode<int, int>(i, i, i) { Frequency = 3 };
            policy.Insert(node, toProtected: true);
            nodes.Add(node);
        }

        var (victim, expired) = policy.Evict(new GhostFilter(10_000), 10_000, now: null);
        Assert.False(expired);
        Assert.Equal(0, victim.Queue);
        var touched = nodes.Count(n => n.Frequency != 3 && !ReferenceEquals(n, victim));
        Assert.True(touched <= CachePolicy<int, int>.MaxSecondChances, $"{touched} entries moved for one eviction");
        Assert.Equal(9_999, policy.Count);
    }

    [Fact]
    public void GhostFilter_FollowsTheResidentCount_AndClearShrinksIt()
    {
        var ghost = new GhostFilter(100_000_000);
        Assert.True(ghost.Bytes <= 64, $"{ghost.Bytes} bytes before any eviction");
        for (var i = 0; i < 1_000_000; i++)
        {
            ghost.Add(i, residentCount: 10_000);
        }

        // Two generations of about 5 000 keys at 32 bits each, plus the spare being cleared: tens of kilobytes.
        Assert.True(ghost.Bytes <= 3 * 8192 * 4, $"{ghost.Bytes} bytes for 10 000 resident entries");
        Assert.True(ghost.Contains(999_999));
        ghost.Clear();
        Assert.False(ghost.Contains(999_999));
        Assert.True(ghost.Bytes <= 64);
    }
}
