using System.Diagnostics;
using System.Globalization;
using SafeRefs.Caching.Internal;

namespace SafeRefs.Benchmarks.Caching;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/SafeRefs.Benchmarks -- hybrid-l1-interleaved [rounds]</c>: the
/// <see cref="HybridCacheL1HitBenchmarks"/> rows taken in turns (see <see cref="Interleaved"/>), plus the pieces both
/// local tiers pay (a clock read each) and <c>BoundedMemoryCache</c>'s key comparer against the default one.
/// </summary>
public static class HybridL1InterleavedCommand
{
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 41;
        var b = new HybridCacheL1HitBenchmarks();
        b.Setup();
        const string key = "product:4242";
        object resident = new string(key.AsSpan()); // equal to the looked-up key, another instance
        var defaultComparer = EqualityComparer<object>.Default;
        var comparer = ObjectKeyComparer.Instance;
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
                ("default object comparer: hash + equals", () => _ = defaultComparer.GetHashCode(key) + (defaultComparer.Equals(resident, key) ? 1 : 0)),
                ("ObjectKeyComparer: hash + equals", () => _ = comparer.GetHashCode(key) + (comparer.Equals(resident, key) ? 1 : 0)),
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
