using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using SafeRefs.Diagnostics;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// A budget's logger and the metric listeners are user code: a failure while reporting never fails the subscription
/// it reports nor leaks its count; it is logged through <see cref="SafeRefsLog"/> (1003) instead. A test counts only
/// the 1003 records that carry its own logger's exceptions: the fallback logger is process-wide.
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
            var throwing = new ThrowingLogger();
            var budget = new ListenerBudget(maxListeners: 1, throwing);
            var source = new TestSource();
            var tokens = new List<Subscription>();
            for (var i = 0; i < 3; i++)
            {
                tokens.Add(Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget));
            }

            Assert.Equal(3, source.ChangedCount);
            Assert.Equal(3, budget.Count(source, "Changed"));
            var record = Assert.Single(fallback.Collector.GetSnapshot(), r => r.Id.Id == 1003 && throwing.Threw(r.Exception));
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
            var throwing = new ThrowingLogger();
            var budget = new ListenerBudget(maxListeners: 1, throwing);
            budget.Exceeded += static (_, _) => throw new FormatException("handler");
            var source = new TestSource();
            using var one = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
            using var two = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);

            Assert.Equal(2, source.ChangedCount);
            Assert.Equal(2, budget.Count(source, "Changed"));
            Assert.Equal(2, fallback.Collector.GetSnapshot().Count(r => r.Id.Id == 1003 && throwing.Threw(r.Exception)));
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

    // Remembers what it threw, so that a test can tell its own 1003 records from other tests'.
    private sealed class ThrowingLogger : ILogger
    {
        private readonly Lock _lock = new();
        private readonly List<Exception> _thrown = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var failure = new InvalidOperationException("logger down");
            lock (_lock)
            {
                _thrown.Add(failure);
            }

            throw failure;
        }

        public bool Threw(Exception? exception)
        {
            lock (_lock)
            {
                return exception is not null && _thrown.Contains(exception);
            }
        }
    }
}
