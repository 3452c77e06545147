using System.Globalization;
using System.Text.RegularExpressions;
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
    public async Task RunAsync_SafeRefsAfterLeakingRisky_ReportsItsOwnHeapOnly()
    {
        // The risky interval variant leaves system timers that can never be stopped: in a shared process they would
        // still hold their payloads when the SafeRefs variant takes its first sample.
        var scenario = ScenarioCatalog.All().Single(s => s.Name == "interval");

        var result = await Lab.RunAsync(scenario, 400, new Progress<double>(), new Progress<double>(), CancellationToken.None);

        var leftovers = result.Risky.HeapEndBytes - result.Risky.HeapStartBytes;
        Assert.True(leftovers > 400 * 4096, $"risky left {leftovers} bytes");
        Assert.True(
            result.Safe.HeapStartBytes < result.Risky.HeapStartBytes + leftovers / 4,
            $"SafeRefs started at {result.Safe.HeapStartBytes} bytes, risky at {result.Risky.HeapStartBytes} and left {leftovers}");
        Assert.True(result.Safe.HeapGrowthBytes < leftovers / 4, $"SafeRefs grew {result.Safe.HeapGrowthBytes} bytes");
    }

    [Fact]
    public async Task PileUp_RiskyBacklogGrowsWithRequestsAndBoundedRejectsTheExcess()
    {
        const int Ticks = 200;
        const int Arrivals = Ticks * PileUpScenario.ArrivalsPerTick;

        var result = await Lab.RunAsync(new PileUpScenario(), Ticks, new Progress<double>(), new Progress<double>(), CancellationToken.None);

        // Risky: every request is accepted and one is served per tick, so everything else is still queued.
        Assert.Equal(Arrivals, result.Risky.Tracked);
        Assert.Equal(Arrivals - Ticks, result.Risky.Retained);
        Assert.Equal((Arrivals, 0), AcceptedAndRejected(result.Risky.Note));
        Assert.True(result.Risky.HeapGrowthBytes >= (Arrivals - Ticks) * 4096L, $"risky grew {result.Risky.HeapGrowthBytes} bytes");

        // Bounded: never more than the capacity waits, the excess is rejected and counted, the heap stays flat.
        Assert.Equal(Arrivals, result.Safe.Tracked);
        Assert.True(result.Safe.Retained <= PileUpScenario.QueueCapacity, $"bounded kept {result.Safe.Retained}");
        var (accepted, rejected) = AcceptedAndRejected(result.Safe.Note);
        Assert.Equal(Arrivals, accepted + rejected);
        Assert.True(rejected >= Arrivals - Ticks - PileUpScenario.QueueCapacity, $"bounded rejected {rejected}");
        Assert.True(result.Safe.HeapGrowthBytes < PileUpScenario.QueueCapacity * 8192L, $"bounded grew {result.Safe.HeapGrowthBytes} bytes");
        Assert.True(result.Fixed, result.Verdict);
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

    private static (int Accepted, int Rejected) AcceptedAndRejected(string? note)
    {
        var match = Regex.Match(note ?? "", @"(?<accepted>\d+) accepted, (?<rejected>\d+) rejected");
        Assert.True(match.Success, $"no counts in note '{note}'");
        return (int.Parse(match.Groups["accepted"].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups["rejected"].Value, CultureInfo.InvariantCulture));
    }
}
