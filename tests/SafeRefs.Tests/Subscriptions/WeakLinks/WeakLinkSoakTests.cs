using System.ComponentModel;
using System.Diagnostics;
using SafeRefs.Events;
using SafeRefs.Subscriptions;
using SafeRefs.Subscriptions.WeakLinks;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions.WeakLinks;

/// <summary>
/// "After Dispose returns, no invocation of the handler starts": one thread raises without pause while another
/// subscribes, lets the raises reach the handler, disposes, and then marks the round disposed. A handler that sees
/// the mark started after Dispose returned, unless it was one of the invocations already under way when Dispose returned
/// (committed by the raiser, which may be preempted before the handler's first instruction): those are counted right
/// after Dispose returns, before the mark is written, and excused.
/// </summary>
[Collection(SoakCollection.Name)]
public sealed class WeakLinkSoakTests
{
    private const int Rounds = 3000;
    private static readonly TimeSpan TimeBudget = TimeSpan.FromSeconds(20);

    [Fact]
    public void SubscribeWeakEvent_NoInvocationStartsAfterDisposeReturned()
    {
        var source = new TestSource();
        var (rounds, violations) = Run(
            source.RaiseValued,
            round => Subscribe.WeakEvent<TestSource, Round, int>(
                source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, round, static (r, _, _) => r.Invoked()));
        Assert.True(rounds >= 100, $"only {rounds} rounds ran");
        Assert.Equal(0, violations);
        Assert.Equal(0, source.ValuedCount);
    }

    [Fact]
    public void WeakSubscriptionsOnPropertyChanged_NoInvocationStartsAfterDisposeReturned()
    {
        var model = new Model();
        var (rounds, violations) = Run(
            _ => model.Raise(),
            round => WeakSubscriptions.OnPropertyChanged(model, round, static (r, _, _) => r.Invoked()));
        Assert.True(rounds >= 100, $"only {rounds} rounds ran");
        Assert.Equal(0, violations);
    }

    private static (int Rounds, int Violations) Run(Action<int> raise, Func<Round, Subscription> subscribe)
    {
        using var stop = new CancellationTokenSource();
        var raiser = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                raise(1);
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

                // Let a few raises reach the handler, so that Dispose races with raises in flight.
                var spin = default(SpinWait);
                for (var i = 0; i < 50 && Volatile.Read(ref round.Calls) < 2; i++)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }

                token.Dispose();
                round.RunningAtDispose = ((WeakLink)token).RunningCount;
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

    private sealed class Model : INotifyPropertyChanged
    {
        private static readonly PropertyChangedEventArgs Args = new("Value");
        private readonly Lock _lock = new();
        private PropertyChangedEventHandler? _changed;

        public event PropertyChangedEventHandler? PropertyChanged
        {
            add
            {
                lock (_lock)
                {
                    _changed += value;
                }
            }

            remove
            {
                lock (_lock)
                {
                    _changed -= value;
                }
            }
        }

        public void Raise() => Volatile.Read(ref _changed)?.Invoke(this, Args);
    }
}
