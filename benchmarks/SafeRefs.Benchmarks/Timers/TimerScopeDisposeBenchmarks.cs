using BenchmarkDotNet.Attributes;
using SafeRefs.Timers;

namespace SafeRefs.Benchmarks.Timers;

/// <summary>
/// Dispose a scope that owns 10 000 repeating system timers, against disposing 10 000 raw
/// <c>TimeProvider.System</c> timers kept in an array (baseline). Bar: the scope's dispose completes in under 20 ms.
/// </summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // BenchmarkDotNet owns the lifetime: the scope is disposed in cleanup or by the benchmark itself.
public class TimerScopeDisposeBenchmarks
{
    private const int Timers = 10_000;
    private static readonly TimeSpan Period = TimeSpan.FromHours(1);
    private readonly ITimer[] _raw = new ITimer[Timers];
    private TimerScope _scope = null!;

    [IterationSetup(Target = nameof(RawDispose10000))]
    public void SetupRaw()
    {
        for (var i = 0; i < Timers; i++)
        {
            _raw[i] = TimeProvider.System.CreateTimer(static _ => { }, null, Period, Period);
        }
    }

    [IterationSetup(Target = nameof(ScopeDispose10000))]
    public void SetupScope()
    {
        _scope = new TimerScope(TimeProvider.System);
        for (var i = 0; i < Timers; i++)
        {
            _scope.Every(Period, static () => { });
        }
    }

    [Benchmark(Baseline = true, Description = "dispose 10 000 raw ITimers")]
    public void RawDispose10000()
    {
        foreach (var timer in _raw)
        {
            timer.Dispose();
        }
    }

    [Benchmark(Description = "TimerScope.Dispose with 10 000 timers")]
    public void ScopeDispose10000() => _scope.Dispose();
}
#pragma warning restore CA1001
