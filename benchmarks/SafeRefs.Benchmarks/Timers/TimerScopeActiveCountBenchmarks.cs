using BenchmarkDotNet.Attributes;
using SafeRefs.Timers;

namespace SafeRefs.Benchmarks.Timers;

/// <summary>
/// <see cref="TimerScope.ActiveCount"/> of a scope that owns <see cref="Count"/> repeating system timers (a scan of
/// the scope's table). Bar: linear in the count (compare the 1 000 and 10 000 rows).
/// </summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // BenchmarkDotNet owns the lifetime: the scope is disposed in cleanup.
public class TimerScopeActiveCountBenchmarks
{
    private static readonly TimeSpan Period = TimeSpan.FromHours(1);
    private TimerScope _scope = null!;

    [Params(1_000, 10_000)]
    public int Count { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _scope = new TimerScope(TimeProvider.System);
        for (var i = 0; i < Count; i++)
        {
            _scope.Every(Period, static () => { });
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _scope.Dispose();

    [Benchmark(Description = "TimerScope.ActiveCount")]
    public int ActiveCount() => _scope.ActiveCount;
}
#pragma warning restore CA1001
