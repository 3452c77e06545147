using System.Diagnostics;
using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Infrastructure;

/// <summary>
/// "After Dispose returns, no invocation of the handler starts", as a soak: one thread raises without pause while the
/// test thread subscribes, lets a few raises reach the handler, disposes, and then marks the round disposed. A handler
/// that sees the mark started after Dispose returned, unless it was one of the invocations already under way when
/// Dispose returned (committed by the raiser, which may be preempted before the handler's first instruction): those
/// are counted right after Dispose returns, before the mark is written, and excused. Bounded in rounds and in time.
/// </summary>
internal static class DisposeRaceSoak
{
    private const int MaxRounds = 3000;
    private static readonly TimeSpan TimeBudget = TimeSpan.FromSeconds(20);

    /// <param name="raise">Raises the event once (called in a loop on the raising thread).</param>
    /// <param name="subscribe">Subscribes a handler that calls <see cref="DisposeRaceRound.Invoked"/>.</param>
    /// <param name="runningCount">The token's invocations in progress, read right after its Dispose returned.</param>
    /// <returns>The rounds run and the invocations that started after their Dispose returned.</returns>
    public static (int Rounds, int Violations) Run(Action raise, Func<DisposeRaceRound, Subscription> subscribe, Func<Subscription, long> runningCount)
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
        var all = new List<DisposeRaceRound>(MaxRounds);
        var rounds = 0;
        var clock = Stopwatch.StartNew();
        try
        {
            for (; rounds < MaxRounds && clock.Elapsed < TimeBudget; rounds++)
            {
                var round = new DisposeRaceRound();
                var token = subscribe(round);

                // Let a few raises reach the handler, so that Dispose races with raises in flight.
                var spin = default(SpinWait);
                for (var i = 0; i < 50 && Volatile.Read(ref round.Calls) < 2; i++)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }

                token.Dispose();
                round.RunningAtDispose = runningCount(token);
                Volatile.Write(ref round.Disposed, 1);
                all.Add(round);
            }
        }
        finally
        {
            stop.Cancel();
            raiser.JoinBounded();
        }

        // Summed after the raiser stopped: a late invocation of an early round counts too.
        return (rounds, all.Sum(static r => (int)Math.Max(0, Volatile.Read(ref r.Violations) - r.RunningAtDispose)));
    }
}
