using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Tests.Diagnostics;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Timers;

/// <summary>The saferefs.timer.active metric and the failed-callback log. Non-parallel: the meter is process-wide.</summary>
[Collection(SoakCollection.Name)]
public sealed class TimerScopeDiagnosticsTests
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    [Fact]
    public void ActiveMetric_TracksOwnedItemsAndReturnsToZero()
    {
        var name = "diagnostics-" + Guid.NewGuid().ToString("N");
        using var active = MetricTotals.Collect("saferefs.timer.active");

        var clock = new FakeTimeProvider();
        var scope = new TimerScope(clock) { Name = name };
        scope.Every(10 * Ms, static () => { });
        scope.After(10 * Ms, static () => { });
        _ = scope.Delay(20 * Ms);
        _ = scope.CancelAfter(20 * Ms);
        var owner = new object();
        scope.Loop(owner, 10 * Ms, static (_, _) => default);
        Assert.Equal(5, MetricTotals.Sum(active, "saferefs.timer.scope.name", name));
        clock.Advance(10 * Ms);
        Assert.Equal(4, MetricTotals.Sum(active, "saferefs.timer.scope.name", name));
        Assert.Equal(scope.ActiveCount, MetricTotals.Sum(active, "saferefs.timer.scope.name", name));
        scope.Dispose();
        Assert.Equal(0, MetricTotals.Sum(active, "saferefs.timer.scope.name", name));
        GC.KeepAlive(owner);
    }

    [Fact]
    public void CallbackFails_LoggedWithEventId1200()
    {
        var clock = new FakeTimeProvider();
        var logger = new ListLogger();
        using var scope = new TimerScope(clock) { Logger = logger };
        scope.Error += static (_, _) => { };
        scope.After(Ms, static () => throw new InvalidOperationException("logged"));
        var owner = new object();
        scope.Loop(owner, Ms, static (_, _) => throw new InvalidOperationException("loop"));
        clock.Advance(Ms);
        Assert.Contains(logger.Entries, e => e.Id == 1200 && e.Level == LogLevel.Error && e.Exception?.Message == "logged");
        Assert.Contains(logger.Entries, e => e.Id == 1201 && e.Exception?.Message == "loop");
        Assert.Same(logger, scope.CreateChild().Logger);
        GC.KeepAlive(owner);
    }

    private sealed class ListLogger : ILogger
    {
        public List<(int Id, LogLevel Level, Exception? Exception)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Entries)
            {
                Entries.Add((eventId.Id, logLevel, exception));
            }
        }
    }
}
