using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using SafeRefs.Diagnostics;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// A budget's logger and the metric listeners are user code: a failure while reporting never fails the subscription
/// it reports nor leaks its count; it is logged through <see cref="SafeRefsLog"/> (1003) instead.
/// </summary>
[Collection(GcCollection.Name)] // SafeRefsLog.Logger is process-wide: no parallel test may swap it meanwhile.
public sealed class ListenerBudgetReportingTests
{
    [Fact]
    public void Warn_LoggerThrows_SubscriptionAttachedCountKept_FailureLogged()
    {
        var fallback = new FakeLogger();
        var previous = SafeRefsLog.Logger;
        SafeRefsLog.Logger = fallback;
        try
        {
            var budget = new ListenerBudget(maxListeners: 1, new ThrowingLogger());
            var source = new TestSource();
            var tokens = new List<Subscription>();
            for (var i = 0; i < 3; i++)
            {
                tokens.Add(Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget));
            }

            Assert.Equal(3, source.ChangedCount);
            Assert.Equal(3, budget.Count(source, "Changed"));
            var record = Assert.Single(fallback.Collector.GetSnapshot(), static r => r.Id.Id == 1003);
            Assert.Equal(1003, record.Id.Id);
            Assert.IsType<InvalidOperationException>(record.Exception);
            Assert.Contains("TestSource.Changed", record.Message, StringComparison.Ordinal);

            tokens.ForEach(static t => t.Dispose());
            Assert.Equal(0, budget.Count(source, "Changed"));
        }
        finally
        {
            SafeRefsLog.Logger = previous;
        }
    }

    [Fact]
    public void Warn_ExceededHandlerAndLoggerThrow_SubscriptionStillAttached()
    {
        var previous = SafeRefsLog.Logger;
        var fallback = new FakeLogger();
        SafeRefsLog.Logger = fallback;
        try
        {
            var budget = new ListenerBudget(maxListeners: 1, new ThrowingLogger());
            budget.Exceeded += static (_, _) => throw new FormatException("handler");
            var source = new TestSource();
            using var one = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
            using var two = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);

            Assert.Equal(2, source.ChangedCount);
            Assert.Equal(2, budget.Count(source, "Changed"));
            Assert.Equal(2, fallback.Collector.GetSnapshot().Count(static r => r.Id.Id == 1003));
        }
        finally
        {
            SafeRefsLog.Logger = previous;
        }
    }

    [Fact]
    public void Throw_LoggerThrows_CallerGetsTheRefusal()
    {
        var previous = SafeRefsLog.Logger;
        SafeRefsLog.Logger = new FakeLogger();
        try
        {
            var budget = new ListenerBudget(maxListeners: 1, new ThrowingLogger()) { OnExceeded = ListenerBudgetAction.Throw };
            var source = new TestSource();
            using var one = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
            Assert.Throws<ListenerLimitExceededException>(() =>
                Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget));
            Assert.Equal(1, source.ChangedCount);
            Assert.Equal(1, budget.Count(source, "Changed"));
        }
        finally
        {
            SafeRefsLog.Logger = previous;
        }
    }

    private sealed class ThrowingLogger : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            throw new InvalidOperationException("logger down");
    }
}
