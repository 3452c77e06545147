using System.Runtime.CompilerServices;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Diagnostics;

/// <summary>saferefs.timer.active for scopes dropped without Dispose: a collected scope drops out of the observed sum,
/// and items that retire later do not subtract again.</summary>
[Collection(GcCollection.Name)]
public sealed class TimerMetricsGcTests
{
    [Fact]
    public void Active_ScopeCollectedWithTimersRunning_SubtractedOnce()
    {
        var name = "metrics-dropped-scope-" + Guid.NewGuid().ToString("N");
        using var active = MetricTotals.Collect("saferefs.timer.active");
        var time = new FakeTimeProvider();
        var scope = StartAndDropScope(time, name);
        Assert.Equal(3, MetricTotals.Sum(active, "saferefs.timer.scope.name", name));

        for (var round = 0; round < 5 && IsAlive(scope); round++)
        {
            Collect();
        }

        Assert.False(IsAlive(scope));
        Assert.Equal(0, MetricTotals.Sum(active, "saferefs.timer.scope.name", name));

        time.Advance(TimeSpan.FromHours(2));   // the orphaned timers tick, retire and must not subtract again
        Assert.Equal(0, MetricTotals.Sum(active, "saferefs.timer.scope.name", name));
    }

    [Fact]
    public void Active_ScopeKeptAlive_StillCounted()
    {
        var name = "metrics-kept-scope-" + Guid.NewGuid().ToString("N");
        using var active = MetricTotals.Collect("saferefs.timer.active");
        var time = new FakeTimeProvider();
        var scope = StartScope(time, name);

        Collect();
        Collect();

        Assert.Equal(3, MetricTotals.Sum(active, "saferefs.timer.scope.name", name));
        scope.Dispose();
        Assert.Equal(0, MetricTotals.Sum(active, "saferefs.timer.scope.name", name));
        GC.KeepAlive(scope);
    }

    private static void Collect()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool IsAlive(WeakReference<TimerScope> scope) => scope.TryGetTarget(out _);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference<TimerScope> StartAndDropScope(FakeTimeProvider time, string name) => new(StartScope(time, name));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static TimerScope StartScope(FakeTimeProvider time, string name)
    {
        var scope = new TimerScope(time) { Name = name };
        scope.Every(TimeSpan.FromHours(1), static () => { });
        scope.Every(TimeSpan.FromMinutes(30), static () => { });
        _ = scope.Delay(TimeSpan.FromHours(1));
        return scope;
    }
}
