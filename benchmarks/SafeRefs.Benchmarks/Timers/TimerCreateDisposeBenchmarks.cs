using BenchmarkDotNet.Attributes;
using SafeRefs.Timers;

namespace SafeRefs.Benchmarks.Timers;

/// <summary>
/// Create a repeating timer and dispose it: raw <c>TimeProvider.System.CreateTimer</c> (baseline) against
/// <see cref="TimerScope.Every(TimeSpan, Action)"/> and its weak-owner overload. Bars: Every ≤ 1.3× and ≤ raw + 64 B;
/// owner overload ≤ 2×.
/// </summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // BenchmarkDotNet owns the lifetime: the scope is disposed in cleanup or by the benchmark itself.
public class TimerCreateDisposeBenchmarks
{
    private static readonly TimeSpan Period = TimeSpan.FromHours(1);
    private static readonly TimerCallback RawCallback = static _ => { };
    private static readonly Action ScopeCallback = static () => { };
    private readonly object _owner = new();
    private TimerScope _scope = null!;

    [GlobalSetup]
    public void Setup() => _scope = new TimerScope(TimeProvider.System);

    [GlobalCleanup]
    public void Cleanup() => _scope.Dispose();

    [Benchmark(Baseline = true, Description = "TimeProvider.System.CreateTimer + Dispose")]
    public void RawCreateTimer()
    {
        TimeProvider.System.CreateTimer(RawCallback, null, Period, Period).Dispose();
    }

    [Benchmark(Description = "TimerScope.Every + Dispose")]
    public void ScopeEvery()
    {
        _scope.Every(Period, ScopeCallback).Dispose();
    }

    [Benchmark(Description = "TimerScope.Every(owner) + Dispose")]
    public void ScopeEveryOwner()
    {
        _scope.Every(_owner, Period, static _ => { }).Dispose();
    }
}
#pragma warning restore CA1001
