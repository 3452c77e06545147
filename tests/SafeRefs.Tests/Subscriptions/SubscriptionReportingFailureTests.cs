using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Testing;
using SafeRefs.Diagnostics;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// The subscriptions' own reporting counts a failure before it logs it, each step guarded on its own: a throwing
/// <see cref="SafeRefsLog.Logger"/> does not hide the failure from <c>saferefs.subscription.callback.failures</c>.
/// </summary>
[Collection(GcCollection.Name)] // SafeRefsLog.Logger is process-wide: no parallel test may swap it meanwhile.
public sealed class SubscriptionReportingFailureTests
{
    [Fact]
    public void BagLifetimeEnds_ItemThrows_LoggerThrows_FailureStillCounted()
    {
        var logger = new ThrowingLogger();
        Assert.Equal(1, CountBagLifetimeFailures(logger));
        Assert.Equal(1, logger.Calls);
    }

    // Control twin: with a working logger the failure is counted once and logged (1004).
    [Fact]
    public void BagLifetimeEnds_ItemThrows_Control_LoggerWorks_FailureCountedAndLogged()
    {
        var logger = new FakeLogger();
        Assert.Equal(1, CountBagLifetimeFailures(logger));
        Assert.Single(logger.Collector.GetSnapshot(), static r => r.Id.Id == 1004);
    }

    /// <summary>Ends the lifetime of a bag holding an item that throws; returns the "bag lifetime" failures counted.</summary>
    private static int CountBagLifetimeFailures(Microsoft.Extensions.Logging.ILogger logger)
    {
        var previous = SafeRefsLog.Logger;
        SafeRefsLog.Logger = logger;
        try
        {
            using var failures = new MetricCollector<long>((object?)null, SafeRefsMeter.Name, "saferefs.subscription.callback.failures");
            using var lifetime = new CancellationTokenSource();
            var bag = new SubscriptionBag(lifetime.Token);
            bag.Add(new ThrowingItem());
            lifetime.Cancel(); // the bag's failure is reported, never thrown into the canceller
            Assert.True(bag.IsDisposed);
            return failures.GetMeasurementSnapshot()
                .Where(static m => m.Tags.TryGetValue("saferefs.callback.kind", out var kind) && kind is "bag lifetime")
                .Sum(static m => (int)m.Value);
        }
        finally
        {
            SafeRefsLog.Logger = previous;
        }
    }

    private sealed class ThrowingItem : IDisposable
    {
        public void Dispose() => throw new InvalidOperationException("item");
    }
}
