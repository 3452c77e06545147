using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Tests.Pooling;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// A bag that holds itself, directly or through another bag: a disposed bag keeps its nested bags to wait for their
/// items, so a wait that went through them again and again would overflow the stack (a crash: run in a child process).
/// </summary>
public sealed class SubscriptionBagCycleTests
{
    [Fact]
    public void BagsHoldingThemselves_DisposeAndWaits_End()
    {
        var (exitCode, output) = ChildProcess.Run("subscription-bags-holding-themselves", TimeSpan.FromSeconds(60));
        Assert.True(exitCode == 0, $"the child exited with {exitCode}: {output}");
        Assert.Contains("ended", output, StringComparison.Ordinal);
    }

    /// <summary>Child-process scenario: every way a bag cycle is disposed or waited for ends.</summary>
    internal static int BagsHoldingThemselves()
    {
        foreach (var disposeFirst in new[] { false, true })
        {
            var self = new SubscriptionBag();
            self.Add(self);
            var first = new SubscriptionBag();
            var second = first.Add(new SubscriptionBag());
            second.Add(first);
            if (disposeFirst)
            {
                self.Dispose();
                first.Dispose();
            }

            self.DisposeAsync().AsTask().WaitBounded();
            first.DisposeAsync().AsTask().WaitBounded();
            second.DisposeAsync().AsTask().WaitBounded();
            first.DisposeAsync().AsTask().WaitBounded();

            // A lease's end asks a tracked bag whether it runs inside one of the bag's callbacks (after disposing it).
            var pool = Widget.PoolOfOne();
            var lease = pool.Rent();
            var tracked = lease.Track(new SubscriptionBag());
            tracked.Add(tracked).Add(new SubscriptionBag()).Add(tracked);
            lease.DisposeAsync().AsTask().WaitBounded();
            if (pool.Statistics.Returned != 1)
            {
                Console.WriteLine("the object did not go back");
                return 1;
            }
        }

        Console.WriteLine("ended");
        return 0;
    }
}
