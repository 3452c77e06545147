using System.Diagnostics;
using System.Globalization;

namespace SafeRefs.Benchmarks;

/// <summary>
/// Runs several operations in turns, round after round, so that each ratio compares runs made milliseconds apart under
/// the same machine load: a cross-check for BenchmarkDotNet runs on a shared, noisy machine (the BenchmarkDotNet
/// classes stay the reference). Reports per operation the fastest round and the median round in ns per operation, and
/// against the first operation (the baseline) the ratio of the fastest rounds and the median of the per-round ratios.
/// </summary>
public static class Interleaved
{
    public static void Measure(string title, IReadOnlyList<(string Name, Action Operation)> cases, int rounds, int operationsPerRound = 100_000)
    {
        ArgumentNullException.ThrowIfNull(cases);
        var warmup = Stopwatch.StartNew();
        while (warmup.ElapsedMilliseconds < 1_500)
        {
            foreach (var (_, operation) in cases)
            {
                Time(operation, operationsPerRound / 10);
            }
        }

        var allocated = new double[cases.Count];
        for (var c = 0; c < cases.Count; c++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            Time(cases[c].Operation, operationsPerRound);
            allocated[c] = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)operationsPerRound;
        }

        var gen0 = GC.CollectionCount(0);
        var times = new double[cases.Count][];
        for (var c = 0; c < cases.Count; c++)
        {
            times[c] = new double[rounds];
        }

        for (var r = 0; r < rounds; r++)
        {
            for (var c = 0; c < cases.Count; c++)
            {
                times[c][r] = Time(cases[c].Operation, operationsPerRound);
            }
        }

        gen0 = GC.CollectionCount(0) - gen0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{title}: {rounds} interleaved rounds of {operationsPerRound:N0} operations, {gen0} gen-0 collections"));
        Console.WriteLine("| Method | fastest round | median round | ratio (fastest) | ratio (median of rounds) | allocated |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        var baseline = times[0];
        for (var c = 0; c < cases.Count; c++)
        {
            var perRound = new double[rounds];
            for (var r = 0; r < rounds; r++)
            {
                perRound[r] = times[c][r] / baseline[r];
            }

            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {cases[c].Name} | {times[c].Min():F2} ns | {Median(times[c]):F2} ns | {times[c].Min() / baseline.Min():F2} | {Median(perRound):F2} | {allocated[c]:F0} B |"));
        }

        Console.WriteLine();
    }

    private static double Time(Action operation, int count)
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            operation();
        }

        return Stopwatch.GetElapsedTime(start).TotalNanoseconds / count;
    }

    private static double Median(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return sorted[sorted.Length / 2];
    }
}
