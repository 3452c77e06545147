using Microsoft.Extensions.Primitives;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// <c>Subscribe.OnChange</c>: "after <c>Dispose</c> returns, no consumer run starts" when <c>Dispose</c> runs while the
/// producer (user code, called inside the gate before the consumer) is held on the thread that fired the token.
/// </summary>
public sealed class SubscribeOnChangeProducerDisposeTests
{
    [Fact]
    public async Task DisposeWhileProducerRuns_ConsumerNeverStarts()
    {
        var (runs, runsAfterDispose) = await FireWithProducerHeld(dispose: true);
        Assert.Equal(0, runsAfterDispose);
        Assert.Equal(0, runs);
    }

    // Control twin: the same held producer without Dispose does run the consumer, so the test above can only pass
    // because the disposed token refused it.
    [Fact]
    public async Task DisposeWhileProducerRuns_Control_NotDisposed_ConsumerRunsOnce()
    {
        var (runs, _) = await FireWithProducerHeld(dispose: false);
        Assert.Equal(1, runs);
    }

    /// <summary>
    /// Fires the first token on a thread of its own, holds the producer call that follows, disposes meanwhile if asked;
    /// returns how often the consumer ran, and how often after <c>Dispose</c> returned.
    /// </summary>
    private static async Task<(int Runs, int RunsAfterDispose)> FireWithProducerHeld(bool dispose)
    {
        using var first = new CancellationTokenSource();
        using var producerEntered = new ManualResetEventSlim();
        using var releaseProducer = new ManualResetEventSlim();
        var produced = 0;
        var runs = 0;
        var runsAfterDispose = 0;
        var disposeReturned = false;

        IChangeToken? Producer()
        {
            if (Interlocked.Increment(ref produced) == 1)
            {
                return new CancellationChangeToken(first.Token);
            }

            // The call after the change, inside the run: held while Dispose runs. A token that never changes, so that
            // only the consumer decides what the test sees.
            producerEntered.Set();
            releaseProducer.WaitBounded();
            return new CancellationChangeToken(CancellationToken.None);
        }

        var subscription = Subscribe.OnChange(Producer, () =>
        {
            Interlocked.Increment(ref runs);
            if (Volatile.Read(ref disposeReturned))
            {
                Interlocked.Increment(ref runsAfterDispose);
            }
        });
        try
        {
            // A thread of its own: the test does not depend on the thread pool being prompt.
            var firing = Task.Factory.StartNew(first.Cancel, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            producerEntered.WaitBounded();
            if (dispose)
            {
                subscription.Dispose();
                Volatile.Write(ref disposeReturned, true);
            }

            releaseProducer.Set();
            await firing.Bounded();
            return (Volatile.Read(ref runs), Volatile.Read(ref runsAfterDispose));
        }
        finally
        {
            releaseProducer.Set();
            subscription.Dispose();
        }
    }
}
