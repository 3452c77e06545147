using System.Diagnostics;
using System.Globalization;

namespace SafeRefs.Benchmarks.Caching;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/SafeRefs.Benchmarks -- hybrid-l1-interleaved [rounds]</c>: the
/// <see cref="HybridCacheL1HitBenchmarks"/> rows taken in turns (see <see cref="Interleaved"/>), plus the piece both
/// local tiers pay (a clock read each).
/// </summary>
public static class HybridL1InterleavedCommand
{
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 41;
        var b = new HybridCacheL1HitBenchmarks();
        b.Setup();
        Interleaved.Measure(
            "HybridCacheL1HitBenchmarks",
            [
                ("MemoryCache_Hit (baseline)", () => Consume(b.MemoryCache_Hit())),
                ("BoundedMemoryCache_Hit", () => Consume(b.BoundedMemoryCache_Hit())),
                ("MemoryCache_TryGetValue", () => b.MemoryCache_TryGetValue()),
                ("BoundedMemoryCache_TryGetValue", () => b.BoundedMemoryCache_TryGetValue()),
                ("Floor_RandomizedStringHash", () => b.Floor_RandomizedStringHash()),
                ("Floor_NonRandomizedStringHash", () => b.Floor_NonRandomizedStringHash()),
                ("Floor_ExactHitCount", () => b.Floor_ExactHitCount()),
                ("clock: Stopwatch.GetTimestamp (BoundedMemoryCache)", () => Stopwatch.GetTimestamp()),
                ("clock: DateTime.UtcNow (MemoryCache)", () => _ = DateTime.UtcNow),
            ],
            rounds);
        b.Cleanup();
        return 0;
    }

    // A hit completes synchronously; anything else would be a broken benchmark.
    private static void Consume(ValueTask<string> hit)
    {
        if (!hit.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("The L1 hit did not complete synchronously.");
        }

        _ = hit.Result;
    }
}
