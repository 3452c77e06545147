using Microsoft.Extensions.Logging.Testing;
using SafeRefs.Diagnostics;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// A bag disposed because its lifetime token was cancelled: the canceller (a <c>CancelAfter</c> timer, a host) did not
/// dispose the items, so their failures are logged (1004) and counted, never thrown into the cancelling thread.
/// </summary>
[Collection(GcCollection.Name)] // SafeRefsLog.Logger is process-wide: no parallel test may swap it meanwhile.
public sealed class SubscriptionBagLifetimeTests
{
    [Fact]
    public void LifetimeCancelled_ItemThrows_CancelDoesNotThrow_EveryItemDisposed_FailureLogged()
    {
        var logger = new FakeLogger();
        var previous = SafeRefsLog.Logger;
        SafeRefsLog.Logger = logger;
        try
        {
            using var cts = new CancellationTokenSource();
            var bag = new SubscriptionBag(cts.Token);
            var disposed = new List<string>();
            bag.Add(new Item(() => disposed.Add("first")));
            var failure = new ObjectDisposedException("source");
            bag.Add(new Item(() => throw failure));
            bag.Add(new Item(() => disposed.Add("last")));

            cts.Cancel(); // threw AggregateException into the canceller before the fix

            Assert.True(bag.IsDisposed);
            Assert.Equal(["last", "first"], disposed);
            // The logger is process-wide: pick this bag's record by its item's failure (another bag may report too).
            var record = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == 1004
                && r.Exception is AggregateException a && a.InnerExceptions.Contains(failure));
            var aggregate = Assert.IsType<AggregateException>(record.Exception);
            Assert.Same(failure, Assert.Single(aggregate.InnerExceptions));
        }
        finally
        {
            SafeRefsLog.Logger = previous;
        }
    }

    // Control: an explicit Dispose still throws to its caller, who asked for it.
    [Fact]
    public void ExplicitDispose_ItemThrows_Throws()
    {
        using var cts = new CancellationTokenSource();
        var bag = new SubscriptionBag(cts.Token);
        bag.Add(new Item(() => throw new ObjectDisposedException("source")));
        Assert.Throws<AggregateException>(bag.Dispose);
        cts.Cancel();
    }

    private sealed class Item(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}
