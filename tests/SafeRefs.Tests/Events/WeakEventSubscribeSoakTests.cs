using System.Diagnostics;
using SafeRefs.Events;
using SafeRefs.Internal;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

/// <summary>
/// "After Dispose returns, no invocation of the handler starts", for the <c>Subscribe</c> tokens of the weak events:
/// one thread raises without pause while another subscribes, lets the raises reach the handler, disposes, and then
/// marks the round. A handler that sees the mark started after Dispose returned, unless it was one of the invocations
/// already under way when Dispose returned (committed, and possibly preempted before the handler's first instruction):
/// those are counted right after Dispose returns, before the mark is written, and excused.
/// </summary>
[Collection(SoakCollection.Name)]
public sealed class WeakEventSubscribeSoakTests
{
    private const int Rounds = 3000;
    private static readonly TimeSpan TimeBudget = TimeSpan.FromSeconds(20);

    [Fact]
    public void WeakEvent_NoInvocationStartsAfterDisposeReturned()
    {
        var source = new WeakEvent<int>();
        var (rounds, violations) = Run(
            () => source.Raise(null, 1),
            round => source.Subscribe(round, static (r, _, _) => r.Invoked()));
        Assert.True(rounds >= 100, $"only {rounds} rounds ran");
        Assert.Equal(0, violations);
        Assert.Equal(0, source.Count);
    }

    [Fact]
    public void WeakDelegateEvent_NoInvocationStartsAfterDisposeReturned()
    {
        var source = new WeakDelegateEvent<EventHandler>();
        var (rounds, violations) = Run(
            () => source.Raise(null, EventArgs.Empty),
            round => source.Subscribe(round, (_, _) => round.Invoked()));
        Assert.True(rounds >= 100, $"only {rounds} rounds ran");
        Assert.Equal(0, violations);
    }

    [Fact]
    public void AsyncWeakEvent_NoInvocationStartsAfterDisposeReturned()
    {
        var source = new AsyncWeakEvent<int>();
        var (rounds, violations) = Run(
            () => source.RaiseAsync(null, 1).AsTask().GetAwaiter().GetResult(),
            round => source.Subscribe(round, static (r, _, _, _) =>
            {
                r.Invoked();
                return ValueTask.CompletedTask;
            }));
        Assert.True(rounds >= 100, $"only {rounds} rounds ran");
        Assert.Equal(0, violations);
    }

    private static (int Rounds, int Violations) Run(Action raise, Func<Round, Subscription> subscribe)
    {
        using var stop = new CancellationTokenSource();
        var raiser = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                raise();
            }
        });
        raiser.Start();
        var all = new List<Round>(Rounds);
        var rounds = 0;
        var clock = Stopwatch.StartNew();
        try
        {
            for (; rounds < Rounds && clock.Elapsed < TimeBudget; rounds++)
            {
                var round = new Round();
                var token = subscribe(round);
                var spin = default(SpinWait);
                for (var i = 0; i < 50 && Volatile.Read(ref round.Calls) < 2; i++)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }

                token.Dispose();
                round.RunningAtDispose = ((WeakHandlerEntry)token.Slot1!).RunningCount;
                Volatile.Write(ref round.Disposed, 1);
                all.Add(round);
            }
        }
        finally
        {
            stop.Cancel();
            raiser.Join();
        }

        // Summed after the raiser stopped: a late invocation of an early round counts too.
        return (rounds, all.Sum(static r => (int)Math.Max(0, Volatile.Read(ref r.Violations) - r.RunningAtDispose)));
    }

    private sealed class Round
    {
        public int Calls;
        public int Disposed;
        public int Violations;
        public long RunningAtDispose;

        public void Invoked()
        {
            if (Volatile.Read(ref Disposed) != 0)
            {
                Interlocked.Increment(ref Violations);
            }

            Interlocked.Increment(ref Calls);
        }
    }
}
