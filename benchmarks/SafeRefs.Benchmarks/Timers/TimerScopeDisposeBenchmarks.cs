using BenchmarkDotNet.Attributes;
using SafeRefs.Timers;

namespace SafeRefs.Benchmarks.Timers;

/// <summary>
/// Dispose a scope that owns <see cref="Count"/> repeating system timers, against disposing as many raw
/// <c>TimeProvider.System</c> timers kept in an array (baseline). Bar: linear in the count (compare the 1 000 and
/// 10 000 rows).
/// </summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // BenchmarkDotNet owns the lifetime: the scope is disposed in cleanup or by the benchmark itself.
public class TimerScopeDisposeBenchmarks
{
    private static readonly TimeSpan Period = TimeSpan.FromHours(1);
    private ITimer[] _raw = [];
    private TimerScope _scope = null!;

    [Params(1_000, 10_000)]
    public int Count { get; set; }

    [IterationSetup(Target = nameof(RawDispose))]
    public void SetupRaw()
    {
        _raw = new ITimer[Count];
        for (var i = 0; i < Count; i++)
        {
            _raw[i] = TimeProvider.System.CreateTimer(static _ => { }, null, Period, Period);
        }
    }

    [IterationSetup(Target = nameof(ScopeDispose))]
    public void SetupScope()
    {
        _scope = new TimerScope(TimeProvider.System);
        for (var i = 0; i < Count; i++)
        {
            _scope.Every(Period, static () => { });
        }
    }

    [Benchmark(Baseline = true, Description = "dispose raw ITimers")]
    public void RawDispose()
    {
        foreach (var timer in _raw)
        {
            timer.Dispose();
        }
    }

    [Benchmark(Description = "TimerScope.Dispose")]
    public void ScopeDispose() => _scope.Dispose();
}
#pragma warning restore CA1001
