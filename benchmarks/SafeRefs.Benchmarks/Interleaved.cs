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
    /// <summary>Times each operation in a loop of <paramref name="operationsPerRound"/> calls per round.</summary>
    /// <param name="operationsPerCall">How many uses one call performs (BenchmarkDotNet's <c>OperationsPerInvoke</c>):
    /// the figures are per use.</param>
    public static void Measure(string title, IReadOnlyList<(string Name, Action Operation)> cases, int rounds, int operationsPerRound = 100_000, int operationsPerCall = 1)
    {
        ArgumentNullException.ThrowIfNull(cases);
        Run(title, cases.Select(static c => c.Name).ToArray(), (c, count) => Time(cases[c].Operation, count, operationsPerCall), rounds, operationsPerRound);
    }

    /// <summary>Times each operation call on its own, after an untimed <c>Setup</c> (BenchmarkDotNet's
    /// <c>IterationSetup</c>): for operations that consume what the setup built, such as disposing a full scope.</summary>
    public static void MeasureEach(string title, IReadOnlyList<(string Name, Action Setup, Action Operation)> cases, int rounds, int operationsPerRound)
    {
        ArgumentNullException.ThrowIfNull(cases);
        Run(title, cases.Select(static c => c.Name).ToArray(), (c, count) => TimeEach(cases[c].Setup, cases[c].Operation, count), rounds, operationsPerRound);
    }

    // time(case, count): ns and bytes allocated per operation over count operations of the case.
    private static void Run(string title, string[] names, Func<int, int, (double Ns, double Bytes)> time, int rounds, int operationsPerRound)
    {
        var warmup = Stopwatch.StartNew();
        while (warmup.ElapsedMilliseconds < 1_500)
        {
            for (var c = 0; c < names.Length; c++)
            {
                time(c, Math.Max(1, operationsPerRound / 10));
            }
        }

        var allocated = new double[names.Length];
        for (var c = 0; c < names.Length; c++)
        {
            allocated[c] = time(c, operationsPerRound).Bytes;
        }

        var gen0 = GC.CollectionCount(0);
        var times = new double[names.Length][];
        for (var c = 0; c < names.Length; c++)
        {
            times[c] = new double[rounds];
        }

        for (var r = 0; r < rounds; r++)
        {
            for (var c = 0; c < names.Length; c++)
            {
                times[c][r] = time(c, operationsPerRound).Ns;
            }
        }

        gen0 = GC.CollectionCount(0) - gen0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{title}: {rounds} interleaved rounds of {operationsPerRound:N0} operations, {gen0} gen-0 collections"));
        Console.WriteLine("| Method | fastest round | median round | ratio (fastest) | ratio (median of rounds) | allocated |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        var baseline = times[0];
        for (var c = 0; c < names.Length; c++)
        {
            var perRound = new double[rounds];
            for (var r = 0; r < rounds; r++)
            {
                perRound[r] = times[c][r] / baseline[r];
            }

            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {names[c]} | {times[c].Min():F2} ns | {Median(times[c]):F2} ns | {times[c].Min() / baseline.Min():F2} | {Median(perRound):F2} | {allocated[c]:F0} B |"));
        }

        Console.WriteLine();
    }

    private static (double Ns, double Bytes) TimeEach(Action setup, Action operation, int count)
    {
        long elapsed = 0;
        long allocated = 0;
        for (var i = 0; i < count; i++)
        {
            setup();
            var before = GC.GetAllocatedBytesForCurrentThread();
            var start = Stopwatch.GetTimestamp();
            operation();
            elapsed += Stopwatch.GetTimestamp() - start;
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
        }

        return ((double)elapsed * 1_000_000_000 / Stopwatch.Frequency / count, (double)allocated / count);
    }

    private static (double Ns, double Bytes) Time(Action operation, int count, int operationsPerCall)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            operation();
        }

        var ns = Stopwatch.GetElapsedTime(start).TotalNanoseconds;
        var bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        return (ns / count / operationsPerCall, (double)bytes / count / operationsPerCall);
    }

    private static double Median(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return sorted[sorted.Length / 2];
    }
}
