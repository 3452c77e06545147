using SafeRefs.Caching.Internal;

namespace SafeRefs.Tests.Caching.Internal;

public sealed class FrequencySketchTests
{
    [Fact]
    public void Add_CountsUpToTheMaximum_AndEstimatesNeverUnderCount()
    {
        var sketch = new FrequencySketch();
        for (var i = 0; i < 10; i++)
        {
            sketch.Add(42, 1, residentCount: 1_000);
        }

        Assert.Equal(10, sketch.Estimate(42));
        sketch.Add(42, 3, residentCount: 1_000);
        Assert.Equal(13, sketch.Estimate(42));
        sketch.Add(42, 10, residentCount: 1_000);
        Assert.Equal(FrequencySketch.MaxCount, sketch.Estimate(42));
        Assert.Equal(0, sketch.Estimate(43));
    }

    [Fact]
    public void Add_EveryPeriod_HalvesEveryCount()
    {
        var sketch = new FrequencySketch();
        const int resident = 100;
        sketch.Add(7, 12, resident);
        sketch.Add(8, 3, resident);

        // The rest of the period: other keys, each once.
        for (var i = 0; i < (FrequencySketch.SamplesPerEntry * resident) - 15; i++)
        {
            sketch.Add(1_000 + i, 1, resident);
        }

        Assert.Equal(6, sketch.Estimate(7));
        Assert.Equal(1, sketch.Estimate(8));
    }

    [Fact]
    public void Size_FollowsTheResidentCount_AndGrowthKeepsEstimates()
    {
        var sketch = new FrequencySketch();
        Assert.True(sketch.Bytes <= 512, $"{sketch.Bytes} bytes empty");
        sketch.Add(5, 9, residentCount: 10);
        sketch.Add(6, 4, residentCount: 10);
        sketch.Add(7, 1, residentCount: 100_000); // grows to about 16 bytes per entry
        Assert.Equal(9, sketch.Estimate(5));
        Assert.Equal(4, sketch.Estimate(6));
        Assert.InRange(sketch.Bytes, 100_000 * 16, 100_000 * 36);
        sketch.Clear();
        Assert.Equal(0, sketch.Estimate(5));
        Assert.True(sketch.Bytes <= 512);
    }

    [Fact]
    public void Admits_OnlyACandidateClearlyMoreFrequentThanTheVictim()
    {
        Assert.False(CachePolicy<int, int>.Admits(1, 1));
        Assert.False(CachePolicy<int, int>.Admits(2, 1));
        Assert.True(CachePolicy<int, int>.Admits(3, 1));
        Assert.True(CachePolicy<int, int>.Admits(2, 0));
    }
}
