using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SafeRefs.Testing.Internal;

namespace SafeRefs.Testing.Heap.Tests.Internal;

public sealed class GrowthRuleTests
{
    private static readonly long[] Operations = [0, 10, 110];

    [Theory]
    [InlineData(100, 110, 210, true)]      // one object per operation
    [InlineData(100, 120, 320, true)]      // two per operation
    [InlineData(100, 105, 155, true)]      // one per two operations: exactly the default threshold
    [InlineData(100, 110, 120, false)]     // bounded at 20: +10 then +10 over 100 operations
    [InlineData(100, 110, 150, false)]     // bounded at 50: the rate fell from 1.0 to 0.4
    [InlineData(100, 103, 108, false)]     // noise: +5 over 100 operations
    [InlineData(100, 100, 200, false)]     // did not grow in the first phase (one-off batch later)
    [InlineData(100, 110, 110, false)]     // stopped growing
    [InlineData(100, 90, 190, false)]      // shrank first
    [InlineData(100, 112, 212, true)]      // a little noise in the first phase, still linear
    [InlineData(100, 130, 230, false)]     // rate fell from 3.0 to 1.0 per operation: read as levelling off
    public void IsSuspect_ThreeCounts_FollowsDocumentedRule(long baseline, long afterFew, long afterMany, bool expected)
    {
        Assert.Equal(expected, GrowthRule.IsSuspect([baseline, afterFew, afterMany], Operations, 0.5));
    }

    [Fact]
    public void IsSuspect_ThresholdRaised_SlowLeakNotReported()
    {
        Assert.True(GrowthRule.IsSuspect([0, 5, 55], Operations, 0.5));
        Assert.False(GrowthRule.IsSuspect([0, 5, 55], Operations, 0.6));
    }

    [Property(MaxTest = 200)]
    public Property IsSuspect_LinearGrowthAtOrAboveThreshold_AlwaysReported()
    {
        return Prop.ForAll(
            Gen.Choose(1, 20).ToArbitrary(),
            Gen.Choose(0, 10_000).ToArbitrary(),
            (perOperation, baseline) =>
                GrowthRule.IsSuspect([baseline, baseline + (10L * perOperation), baseline + (110L * perOperation)], Operations, 0.5));
    }

    [Property(MaxTest = 200)]
    public Property IsSuspect_GrowthCappedWithinFewOperations_NeverReported()
    {
        // A bounded structure reaching its capacity during the first phase never grows afterwards.
        return Prop.ForAll(
            Gen.Choose(1, 10).ToArbitrary(),
            Gen.Choose(0, 10_000).ToArbitrary(),
            (capacity, baseline) => !GrowthRule.IsSuspect([baseline, baseline + capacity, baseline + capacity], Operations, 0.5));
    }

    [Property(MaxTest = 200)]
    public Property IsSuspect_GrowthCappedWithinManyOperations_NotReportedWhenRateHalves()
    {
        // Capacity c in (10, 110): +10 first (rate 1.0), then +(c - 10) over 100 operations; reported only while the
        // second rate stays at least half the first, i.e. the bound is not yet visible.
        return Prop.ForAll(
            Gen.Choose(11, 109).ToArbitrary(),
            capacity =>
            {
                long[] counts = [0, 10, capacity];
                double secondRate = (capacity - 10) / 100.0;
                return GrowthRule.IsSuspect(counts, Operations, 0.5) == (secondRate >= 0.5);
            });
    }

    private static readonly long[] Six = [0, 1, 2, 3, 4, 5];

    [Theory]
    [InlineData(new long[] { 100, 220, 190, 330, 420, 500 }, true)]      // a leak with noise: one interval went down
    [InlineData(new long[] { 100, 200, 300, 400, 500, 600 }, true)]      // exact
    [InlineData(new long[] { 1_000, 1_001, 1_002, 1_003, 1_004, 1_005 }, false)] // up in every interval, but 0.5 % of the baseline
    [InlineData(new long[] { 500, 300, 800, 450, 600, 700 }, false)]     // fluctuates
    [InlineData(new long[] { 100, 200, 300, 400, 400, 400 }, false)]     // levelled off
    [InlineData(new long[] { 600, 500, 400, 300, 200, 100 }, false)]     // shrinks
    [InlineData(new long[] { 0, 0, 0, 0, 0, 3 }, false)]                 // one late step is not a trend
    public void IsSuspect_SixSnapshots_IsATrendTest(long[] counts, bool expected)
    {
        Assert.Equal(expected, GrowthRule.IsSuspect(counts, Six, 1.0));
    }

    [Fact]
    public void IsSuspect_SixRandomCounts_ReportedAboutOnceInAThousand()
    {
        // The documented false-alarm rate of the trend test on counts that wander at random (as a busy service's do),
        // checked on a fixed draw so that the check itself cannot flake: the CLI test on a noisy child relies on it.
        var random = new Random(20_261_206);
        const int Draws = 20_000;
        int alarms = 0;
        for (int draw = 0; draw < Draws; draw++)
        {
            long[] counts = [.. Six.Select(_ => (long)random.Next(200, 1_001))];
            alarms += GrowthRule.IsSuspect(counts, Six, 1.0) ? 1 : 0;
        }

        Assert.InRange(alarms, 0, Draws * 2 / 1_000);
    }

    [Property(MaxTest = 300)]
    public Property IsSuspect_SixSnapshotsWithinTenPercentOfBaseline_NeverReported()
    {
        // Whatever the order, wandering within 10 % of the baseline is not growth.
        return Prop.ForAll(
            Gen.Choose(1_000, 100_000).ToArbitrary(),
            Gen.ArrayOf(Gen.Choose(0, 99), 5).ToArbitrary(),
            (baseline, offsets) =>
                !GrowthRule.IsSuspect([baseline, .. offsets.Select(o => baseline + (baseline * (long)o / 1_000))], Six, 1.0));
    }

    [Property(MaxTest = 200)]
    public Property IsSuspect_SixSnapshotsOfLinearGrowth_AlwaysReported()
    {
        return Prop.ForAll(
            Gen.Choose(1, 1_000).ToArbitrary(),
            Gen.Choose(0, 10_000).ToArbitrary(),
            (perInterval, baseline) =>
                baseline > 10 * perInterval || GrowthRule.IsSuspect([.. Six.Select(i => baseline + (i * perInterval))], Six, 1.0));
    }

    [Theory]
    [InlineData(new long[] { 40, 88, 536 }, new long[] { 1, 1, 1 }, true)]     // a List<int> growing by one int per operation
    [InlineData(new long[] { 56, 152, 536 }, new long[] { 1, 1, 1 }, false)]   // a queue bounded at 50: its rate fell from 9.6 to 3.8 B/op
    [InlineData(new long[] { 40, 88, 536 }, new long[] { 1, 2, 12 }, false)]   // the count grew too: the count rule's business
    [InlineData(new long[] { 400_000, 420_000, 560_000 }, new long[] { 576, 580, 581 }, false)] // pooled buffers coming and going
    [InlineData(new long[] { 400, 88, 536 }, new long[] { 1, 1, 1 }, false)]   // fell below its earlier maximum
    [InlineData(new long[] { 4_000, 4_100, 4_300 }, new long[] { 1, 1, 1 }, false)] // under 4 B/op in the last phase
    [InlineData(new long[] { 4_000, 4_000, 4_600 }, new long[] { 1, 1, 1 }, false)] // one resize in the last phase only
    public void IsBytesSuspect_ThreeSnapshots_FollowsDocumentedRule(long[] bytes, long[] counts, bool expected)
    {
        Assert.Equal(expected, GrowthRule.IsBytesSuspect(counts, bytes, Operations, 4));
    }

    [Theory]
    [InlineData(new long[] { 524_312, 1_048_600, 1_048_600, 2_097_176, 2_097_176, 4_194_328 }, true)]  // doubling array of a growing list
    [InlineData(new long[] { 524_312, 1_048_600, 2_097_176, 2_097_176, 2_097_176, 2_097_176 }, false)] // grew early, then stopped
    [InlineData(new long[] { 80_000, 20_000, 95_000, 40_000, 90_000, 100_000 }, false)]              // fluctuating buffers
    public void IsBytesSuspect_SixSnapshots_LooksAtCumulativeGrowth(long[] bytes, bool expected)
    {
        Assert.Equal(expected, GrowthRule.IsBytesSuspect([1, 1, 1, 1, 1, 1], bytes, Six, 1_024));
    }
}
