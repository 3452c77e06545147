using SafeRefs.LeakLab.Scenarios;

namespace SafeRefs.LeakLab.Tests;

/// <summary>Each scenario at a small iteration count: the risky variant retains objects, the SafeRefs one does not.</summary>
[Collection(GcCollection.Name)]
public sealed class ScenarioTests
{
    public static TheoryData<string> StepScenarios() =>
        new("listeners", "closure", "keepalive", "interval", "delay-chain", "cache");

    [Theory]
    [MemberData(nameof(StepScenarios))]
    public async Task RunAsync_SmallIterations_RiskyRetainsAndSafeRefsReleases(string name)
    {
        var scenario = ScenarioCatalog.All().Single(s => s.Name == name);
        var iterations = scenario.AllowedRetained + 30;

        var result = await Lab.RunAsync(scenario, iterations, new Progress<double>(), new Progress<double>(), CancellationToken.None);

        Assert.Equal(iterations, result.Risky.Tracked);
        Assert.Equal(iterations, result.Safe.Tracked);
        Assert.True(result.Risky.Retained > scenario.AllowedRetained, $"risky retained {result.Risky.Retained}");
        Assert.True(result.Safe.Retained <= scenario.AllowedRetained, $"SafeRefs retained {result.Safe.Retained}");
        Assert.True(result.Fixed, result.Verdict);
        Assert.NotEmpty(result.Risky.Samples);
    }

    [Fact]
    public async Task HeapLimit_SmallLimit_RiskyRunsOutOfMemoryAndBoundedStaysFlat()
    {
        var scenario = new HeapLimitScenario(heapLimitMegabytes: 96);

        var result = await Lab.RunAsync(scenario, 16, new Progress<double>(), new Progress<double>(), CancellationToken.None);

        Assert.Contains("OutOfMemoryException", result.Risky.Note, StringComparison.Ordinal);
        Assert.True(result.Risky.Retained > HeapLimitScenario.KeptByBoundedVariant, $"risky kept {result.Risky.Retained}");
        Assert.Equal(HeapLimitScenario.KeptByBoundedVariant, result.Safe.Retained);
        Assert.Equal(16, result.Safe.Samples[^1].Iteration);
        Assert.True(result.Fixed, result.Verdict);
    }
}
