using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using SafeRefs.Diagnostics;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// The subscriptions' own reporting counts a failure before it logs it, each step guarded on its own: a throwing
/// <see cref="SafeRefsLog.Logger"/> does not hide the failure from <c>saferefs.subscription.callback.failures</c>, and
/// the count is recorded before the logger runs.
/// </summary>
[Collection(GcCollection.Name)] // SafeRefsLog.Logger is process-wide: no parallel test may swap it meanwhile.
public sealed class SubscriptionReportingFailureTests
{
    [Fact]
    public void BagLifetimeEnds_ItemThrows_LoggerThrows_FailureStillCounted()
    {
        var (counted, logger) = EndBagLifetime(loggerThrows: true);
        Assert.Equal(1, counted);
        Assert.Equal([1004], logger.EventIds);
        Assert.Equal([1], logger.CountsSeen);
    }

    // Control twin: with a working logger the failure is counted once and logged (1004).
    [Fact]
    public void BagLifetimeEnds_ItemThrows_Control_LoggerWorks_FailureCountedAndLogged()
    {
        var (counted, logger) = EndBagLifetime(loggerThrows: false);
        Assert.Equal(1, counted);
        Assert.Equal([1004], logger.EventIds);
        Assert.Equal([1], logger.CountsSeen);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BudgetReportFails_CountedBeforeTheFallbackLoggerRuns(bool fallbackThrows)
    {
        // The budget's own logger throws, so its Warn reports that failure (kind "budget report", event 1003). The
        // fallback logger reads this thread's count as it logs: counted first, the count is already there, and a
        // fallback logger that throws cannot skip it.
        using var counted = new ThreadFailureCounter("budget report");
        var fallback = new CountReadingLogger(counted, fallbackThrows);
        var previous = SafeRefsLog.Logger;
        SafeRefsLog.Logger = fallback;
        try
        {
            var budget = new ListenerBudget(maxListeners: 1, new ThrowingLogger());
            var source = new TestSource();
            using var one = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
            using var two = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
        }
        finally
        {
            SafeRefsLog.Logger = previous;
        }

        Assert.Equal(1, counted.Count);
        Assert.Equal([1003], fallback.EventIds);
        Assert.Equal([1], fallback.CountsSeen);
    }

    /// <summary>Ends the lifetime of a bag holding an item that throws; returns the "bag lifetime" failures counted and
    /// the fallback logger's record, both of this thread.</summary>
    private static (long Counted, CountReadingLogger Logger) EndBagLifetime(bool loggerThrows)
    {
        using var counted = new ThreadFailureCounter("bag lifetime");
        var logger = new CountReadingLogger(counted, loggerThrows);
        var previous = SafeRefsLog.Logger;
        SafeRefsLog.Logger = logger;
        try
        {
            using var lifetime = new CancellationTokenSource();
            var bag = new SubscriptionBag(lifetime.Token);
            bag.Add(new ThrowingItem());
            lifetime.Cancel(); // runs the bag's callback on this thread; its failure is reported, never thrown here
            Assert.True(bag.IsDisposed);
            return (counted.Count, logger);
        }
        finally
        {
            SafeRefsLog.Logger = previous;
        }
    }

    /// <summary>Counts the <c>saferefs.subscription.callback.failures</c> of one kind recorded on the creating thread
    /// (tests in other collections may report the same kind meanwhile, on their own threads).</summary>
    private sealed class ThreadFailureCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly int _thread = Environment.CurrentManagedThreadId;
        private readonly string _kind;
        private long _count;

        public ThreadFailureCounter(string kind)
        {
            _kind = kind;
            _listener.InstrumentPublished = static (instrument, listener) =>
            {
                if (instrument.Meter.Name == SafeRefsMeter.Name && instrument.Name == "saferefs.subscription.callback.failures")
                {
                    listener.EnableMeasurementEvents(instrument, null);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                if (Environment.CurrentManagedThreadId != _thread)
                {
                    return;
                }

                foreach (var tag in tags)
                {
                    if (tag.Key == "saferefs.callback.kind" && tag.Value is string kind && kind == _kind)
                    {
                        Interlocked.Add(ref _count, value);
                    }
                }
            });
            _listener.Start();
        }

        public long Count => Interlocked.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>Records each event id it logs on the creating thread and the count it read then; throws after reading
    /// if asked to. Other threads' reports (a leftover of another test) are not this test's: ignored.</summary>
    private sealed class CountReadingLogger(ThreadFailureCounter counter, bool throws) : ILogger
    {
        private readonly int _thread = Environment.CurrentManagedThreadId;

        public List<int> EventIds { get; } = [];

        public List<long> CountsSeen { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (Environment.CurrentManagedThreadId != _thread)
            {
                return;
            }

            EventIds.Add(eventId.Id);
            CountsSeen.Add(counter.Count);
            if (throws)
            {
                throw new InvalidOperationException("fallback logger is broken");
            }
        }
    }

    private sealed class ThrowingItem : IDisposable
    {
        public void Dispose() => throw new InvalidOperationException("item");
    }
}
