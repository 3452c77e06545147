using BenchmarkDotNet.Attributes;

namespace SafeRefs.Benchmarks.Caching;

/// <summary>
/// The mixed workload of <see cref="CacheMixedBenchmarks"/> (80 % read / 20 % write, Zipf(0.9) over 100 000 keys, the
/// same traces) on a capacity of 1 000: its writes touch about 7 000 distinct keys per thread, so every invocation
/// inserts, evicts and (for the bounded caches) folds the frequency sketch, which the capacity-10 000 rows never do
/// after warm-up (there every write replaces a resident value). A separate class, the same benchmarks with a smaller capacity, so those rows stay as measured.
/// </summary>
[MemoryDiagnoser]
public class CacheMixedChurnBenchmarks : CacheMixedBenchmarks
{
    /// <inheritdoc/>
    protected override int Capacity => 1_000;
}
