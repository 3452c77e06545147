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
    private int _gate;
    private FloorHandle? _recent;

    [GlobalSetup]
    public void Setup() => _scope = new TimerScope(TimeProvider.System);

    [GlobalCleanup]
    public void Cleanup() => _scope.Dispose();

    [Benchmark(Baseline = true, Description = "TimeProvider.System.CreateTimer + Dispose")]
    public void RawCreateTimer()
    {
        TimeProvider.System.CreateTimer(RawCallback, null, Period, Period).Dispose();
    }

    /// <summary>
    /// Reference floor, not a SafeRefs API: the baseline plus the least a scope that finds its live timers at dispose
    /// adds — one handle object returned to the caller, registered under a gate that concurrent creators and the
    /// scope's dispose share (one atomic exchange to enter, a plain store to leave), and a plain close.
    /// </summary>
    [Benchmark(Description = "raw + scope floor (handle, 1 atomic)")]
    public void RawCreateTimerPlusScopeFloor()
    {
        var handle = new FloorHandle(RawCallback);
        if (Interlocked.Exchange(ref _gate, 1) == 0)
        {
            _recent = handle;
            Volatile.Write(ref _gate, 0);
        }

        handle.Timer = TimeProvider.System.CreateTimer(RawCallback, handle, Period, Period);
        handle.Callback = null;
        handle.Timer.Dispose();
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

    private sealed class FloorHandle(object callback)
    {
        public object? Callback { get; set; } = callback;

        public ITimer? Timer { get; set; }
    }
}
#pragma warning restore CA1001
