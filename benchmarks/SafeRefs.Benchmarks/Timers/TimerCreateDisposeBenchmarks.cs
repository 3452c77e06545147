using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using SafeRefs.Timers;

namespace SafeRefs.Benchmarks.Timers;

/// <summary>
/// Create a repeating timer and dispose it: raw <c>TimeProvider.System.CreateTimer</c> (baseline) against
/// <see cref="TimerScope.Every(TimeSpan, Action)"/> and its weak-owner overload (bar: Every ≤ 1.5× raw), with floor rows
/// doing only the work any scope within the library's rules must do.
/// </summary>
/// <remarks>
/// Every row runs on the thread's empty default <see cref="ExecutionContext"/> (BenchmarkDotNet's host thread and the
/// <c>timer-interleaved</c> command's both have it), so neither the raw timer's capture nor the scope's check costs
/// more than a read. The scope is created once and reused: an ended timer's cell is taken by the next timer, so the
/// table does not grow. Each BenchmarkDotNet row runs in its own process over tens of seconds, so a change of machine
/// or runtime state during a row (a load burst, a tier-up landing) moves that row alone; the interleaved command
/// alternates rows every few milliseconds in one process. When the two disagree, read the per-iteration times in the
/// BenchmarkDotNet log before trusting either.
/// </remarks>
[MemoryDiagnoser]
#pragma warning disable CA1001 // BenchmarkDotNet owns the lifetime: the scope is disposed in cleanup or by the benchmark itself.
public class TimerCreateDisposeBenchmarks
{
    private static readonly TimeSpan Period = TimeSpan.FromHours(1);
    private static readonly TimerCallback RawCallback = static _ => { };
    private static readonly Action ScopeCallback = static () => { };
    private readonly object _owner = new();
    private TimerScope _scope = null!;
    private readonly Lock _floorLock = new();
    private FloorHandle? _recent;
    private long _floorCount;
    private ExecutionContext? _emptyContext;

    [GlobalSetup]
    public void Setup()
    {
        _scope = new TimerScope(TimeProvider.System);
        _emptyContext = CaptureEmptyContext();
    }

    [GlobalCleanup]
    public void Cleanup() => _scope.Dispose();

    [Benchmark(Baseline = true, Description = "TimeProvider.System.CreateTimer + Dispose")]
    public void RawCreateTimer()
    {
        TimeProvider.System.CreateTimer(RawCallback, null, Period, Period).Dispose();
    }

    /// <summary>
    /// Reference floor, not a SafeRefs API: the baseline plus only what any scope within the library's rules must do —
    /// one handle object returned to the caller (the provider's <see cref="ITimer"/> cannot be extended), stored in the
    /// scope's table under a <see cref="Lock"/> that concurrent creators and the scope's dispose share (a dispose must
    /// find every timer), closed exactly once (one atomic exchange, as a dispose may race the timer's own end), and the
    /// exact live count that <see cref="TimerScope.ActiveCount"/> and <c>saferefs.timer.active</c> read (raised and
    /// lowered atomically: an end can run on a timer thread).
    /// </summary>
    [Benchmark(Description = "raw + scope floor (handle, Lock, count, close once)")]
    public void RawCreateTimerPlusScopeFloor() => CreateAndCloseFloorTimer(new FloorHandle(RawCallback));

    /// <summary>
    /// Reference floor, not a SafeRefs API: <see cref="RawCreateTimerPlusScopeFloor"/> plus the owner held weakly by a
    /// <see cref="WeakReference{T}"/> (a finalizable object and a weak GC handle): a timer the runtime's queue roots must
    /// not keep its owner alive, and the handle must be freed even when the timer is never ended (a paused timer of a
    /// scope dropped undisposed), which only a finalizer guarantees.
    /// </summary>
    [Benchmark(Description = "raw + owner floor (scope floor + WeakReference<T>)")]
    public void RawCreateTimerPlusOwnerFloor() => CreateAndCloseFloorTimer(new FloorHandle(new WeakReference<object>(_owner)));

    /// <summary>
    /// Reference floor, not a SafeRefs API: <see cref="RawCreateTimerPlusScopeFloor"/> plus the two promises of a scope's
    /// timer that it leaves out. The timer does not capture the caller's <see cref="ExecutionContext"/>: one check that
    /// the context is the empty default one, which needs no suppression. The <see cref="ITimer"/> is armed only once the
    /// handle is in the table (created paused, then one <c>Change</c>): a timer armed first could fire before a
    /// concurrent dispose of the scope can find it, and would then run after that dispose returned. Publishing an armed
    /// <see cref="ITimer"/> after the table instead needs a second atomic exchange against the close; it was measured
    /// at the same cost per timer (CPU time, one process per variant), so the scope keeps the paused-then-armed order.
    /// </summary>
    [Benchmark(Description = "raw + promise floor (scope floor + no context flow + armed in the table)")]
    public void RawCreateTimerPlusPromiseFloor() => CreateAndCloseFloorTimer(new FloorHandle(RawCallback), armInTable: true);

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

    // The floor rows' shared work after the handle: inlined into each row (armInTable a constant), so a row measures
    // only its own work.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CreateAndCloseFloorTimer(FloorHandle handle, bool armInTable = false)
    {
        if (armInTable)
        {
            handle.Timer = CreatePausedWithoutFlow(handle);
        }

        lock (_floorLock)
        {
            _recent = handle;
        }

        Interlocked.Increment(ref _floorCount);
        if (armInTable)
        {
            handle.Timer!.Change(Period, Period);
        }
        else
        {
            handle.Timer = TimeProvider.System.CreateTimer(RawCallback, handle, Period, Period);
        }

        if (Interlocked.Exchange(ref handle.Callback, null) is not null)
        {
            handle.Timer.Dispose();
            Interlocked.Decrement(ref _floorCount);
        }
    }

    // The runtime's empty context, as a thread started without flow sees it, as the scope compares with: not this
    // thread's, which may hold values (the floor would then skip the suppression the scope pays).
    private static ExecutionContext? CaptureEmptyContext()
    {
        ExecutionContext? empty = null;
        var thread = new Thread(() => empty = ExecutionContext.Capture());
        thread.UnsafeStart();
        thread.Join();
        return empty;
    }

    private ITimer CreatePausedWithoutFlow(FloorHandle handle)
    {
        if (ReferenceEquals(ExecutionContext.Capture(), _emptyContext))
        {
            return TimeProvider.System.CreateTimer(RawCallback, handle, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        using (ExecutionContext.SuppressFlow())
        {
            return TimeProvider.System.CreateTimer(RawCallback, handle, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    private sealed class FloorHandle(object callback)
    {
#pragma warning disable IDE1006, CA1051 // exchanged by ref, as the timer's own field is
        public object? Callback = callback;
#pragma warning restore IDE1006, CA1051

        public ITimer? Timer { get; set; }
    }
}
#pragma warning restore CA1001
