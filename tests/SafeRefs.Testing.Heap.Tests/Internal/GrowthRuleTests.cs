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
}
