using BenchmarkDotNet.Attributes;
using SafeRefs.Timers;

namespace SafeRefs.Benchmarks.Timers;

/// <summary>
/// <see cref="TimerScope.ActiveCount"/> of a scope that owns <see cref="Count"/> repeating system timers (a read of the
/// count the scope keeps for its metric). Bar: linear in the count (compare the 1 000 and 10 000 rows; it is constant).
/// The reference row reads every timer once, as the scan that <c>ActiveCount</c> used to be did: its cost per timer
/// grows once the timers no longer fit in the core's cache.
/// </summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // BenchmarkDotNet owns the lifetime: the scope is disposed in cleanup.
public class TimerScopeActiveCountBenchmarks
{
    private static readonly TimeSpan Period = TimeSpan.FromHours(1);
    private TimerScope _scope = null!;
    private ScopedTimer[] _timers = [];

    [Params(1_000, 10_000)]
    public int Count { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _scope = new TimerScope(TimeProvider.System);
        _timers = new ScopedTimer[Count];
        for (var i = 0; i < Count; i++)
        {
            _timers[i] = _scope.Every(Period, static () => { });
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _scope.Dispose();

    [Benchmark(Description = "TimerScope.ActiveCount")]
    public int ActiveCount() => _scope.ActiveCount;

    [Benchmark(Description = "reference: read each timer's IsActive")]
    public int ScanTimers()
    {
        var count = 0;
        foreach (var timer in _timers)
        {
            if (timer.IsActive)
            {
                count++;
            }
        }

        return count;
    }
}
#pragma warning restore CA1001
