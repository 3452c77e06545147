using System.Collections.Immutable;
using System.Diagnostics.Metrics;
using SafeRefs.Subscriptions.WeakLinks;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;
using Listener = SafeRefs.Tests.Subscriptions.SubscribeWeakEventTests.Listener;
using SafeRefs.Diagnostics.Internal;

namespace SafeRefs.Tests.Subscriptions;

[Collection(SoakCollection.Name)]
public sealed class SubscribeSoakTests
{
    private const int Threads = 4;
    private const int OperationsPerThread = 6_000;

    [Fact]
    public async Task Event_ManyThreadsSubscribingAndDisposing_FinalCountEqualsUndisposedTokens()
    {
        var source = new TestSource();
        var budget = new ListenerBudget(maxListeners: 0);
        using var barrier = new Barrier(Threads);
        var kept = new List<Subscription>[Threads];
        var tasks = Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            var random = new Random(t);
            var mine = new List<Subscription>();
            barrier.SignalAndWaitBounded();
            for (var op = 0; op < OperationsPerThread; op++)
            {
                if (mine.Count == 0 || random.Next(3) != 0)
                {
                    mine.Add(Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget));
                }
                else
                {
                    var i = random.Next(mine.Count);
                    mine[i].Dispose();
                    mine[i] = mine[^1];
                    mine.RemoveAt(mine.Count - 1);
                }

                if (op % 1000 == 0)
                {
                    source.RaiseChanged();
                }
            }

            kept[t] = mine;
        })).ToArray();
        await Task.WhenAll(tasks).Bounded();

        var undisposed = kept.Sum(static k => k.Count);
        Assert.Equal(undisposed, source.ChangedCount);
        Assert.Equal(undisposed, budget.Count(source, "Changed"));
        foreach (var token in kept.SelectMany(static k => k))
        {
            token.Dispose();
        }

        Assert.Equal(0, source.ChangedCount);
        Assert.Equal(0, budget.Count(source, "Changed"));
    }

    [Fact]
    public async Task WeakEvent_ConcurrentSubscribeDisposeRaiseAndPurge_FinalCountEqualsUndisposedTokens()
    {
        var source = new TestSource();
        var owner = new Listener();
        using var barrier = new Barrier(Threads + 1);
        using var done = new CancellationTokenSource();
        var kept = new List<Subscription>[Threads];
        var raiser = Task.Run(() =>
        {
            barrier.SignalAndWaitBounded();
            while (!done.IsCancellationRequested)
            {
                source.RaiseValued(1);
                WeakLink.Registry.Purge();
            }
        });
        var tasks = Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            var random = new Random(t);
            var mine = new List<Subscription>();
            barrier.SignalAndWaitBounded();
            for (var op = 0; op < OperationsPerThread; op++)
            {
                if (mine.Count == 0 || random.Next(3) != 0)
                {
                    mine.Add(Subscribe.WeakEvent<TestSource, Listener, int>(
                        source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, owner, static (_, _, _) => { }));
                }
                else
                {
                    var i = random.Next(mine.Count);
                    if (random.Next(2) == 0)
                    {
                        mine[i].Dispose();
                    }
                    else
                    {
                        mine[i].DisposeAsync().Bounded().GetAwaiter().GetResult();
                    }

                    mine[i] = mine[^1];
                    mine.RemoveAt(mine.Count - 1);
                }
            }

            kept[t] = mine;
        })).ToArray();
        await Task.WhenAll(tasks).Bounded();
        await done.CancelAsync();
        await raiser.Bounded();

        var undisposed = kept.Sum(static k => k.Count);
        Assert.Equal(undisposed, source.ValuedCount);
        foreach (var token in kept.SelectMany(static k => k))
        {
            token.Dispose();
        }

        Assert.Equal(0, source.ValuedCount);
        GC.KeepAlive(owner);
    }

    [Fact]
    public void Event_RaiseRacingDispose_NoHandlerStartsAfterDisposeReturned()
    {
        var source = new GapSource();
        var violations = RaceRounds(
            round => Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => round.Started())),
            source.RaiseChanged);

        Assert.Equal(0, violations);
    }

    [Fact]
    public void EventOfT_RaiseRacingDispose_NoHandlerStartsAfterDisposeReturned()
    {
        var source = new GapSource();
        var violations = RaceRounds(
            round => Subscribe.Event(source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, (EventHandler<int>)((_, _) => round.Started())),
            source.RaiseValued);

        Assert.Equal(0, violations);
    }

    [Fact]
    public void RegisteredForwarder_RaiseRacingDispose_NoHandlerStartsAfterDisposeReturned()
    {
        HandForwarders.Ensure();
        var source = new GapSource();
        var violations = RaceRounds(
            round => Subscribe.Event(source, static (s, h) => s.Weighed += h, static (s, h) => s.Weighed -= h, (Weighed)((_, _, _) =>
            {
                round.Started();
                return true;
            })),
            source.RaiseWeighed);

        Assert.Equal(0, violations);
    }

    [Fact]
    public void OnCancel_CancelRacingDispose_NoCallbackStartsAfterDisposeReturned()
    {
        var violations = RaceRounds(
            round =>
            {
                round.Source = new CancellationTokenSource();
                return Subscribe.OnCancel(round.Source.Token, static r => ((Round)r!).Started(), round);
            },
            static round =>
            {
                round.MarkRead();
                round.MarkCall();
                round.Source!.Cancel();
            });

        Assert.Equal(0, violations);
    }

    [Fact]
    public void Observe_PublishRacingDispose_NoOnNextStartsAfterDisposeReturned()
    {
        var observable = new ConcurrentObservable();
        var violations = RaceRounds(
            round => Subscribe.Observe(observable, new StartedObserver(round)),
            observable.Publish);

        Assert.Equal(0, violations);
    }

    [Fact]
    public void OnChange_ChangeRacingDispose_NoConsumerStartsAfterDisposeReturned()
    {
        var violations = RaceRounds(
            round =>
            {
                round.Source = new CancellationTokenSource();
                return Subscribe.OnChange(() => new Microsoft.Extensions.Primitives.CancellationChangeToken(round.Source!.Token), round.Started);
            },
            static round =>
            {
                // A fresh source first: the consumer's chain registers on it (as a reload token would).
                var fired = round.Source!;
                round.Source = new CancellationTokenSource();
                round.MarkRead();
                round.MarkCall();
                fired.Cancel();
                fired.Dispose();
            });

        Assert.Equal(0, violations);
    }

    /// <summary>
    /// Rounds of: subscribe; then, at once, one thread raises (a few times) while the other disposes and records that
    /// Dispose returned. The raiser notes, just before it calls what it read, whether Dispose had returned: a handler
    /// reached by such a call is a violation (a call made before that may still be running, which the contract allows).
    /// Bounded by rounds and by time.
    /// </summary>
    private static int RaceRounds(Func<Round, IDisposable> subscribe, Action<Round> raise, int rounds = 3_000)
    {
        var violations = 0;
        var completed = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var barrier = new Barrier(2);
        Round? current = null;
        var stop = false;
        Exception? raiserFailure = null;
        var raiser = new Thread(() =>
        {
            try
            {
                while (true)
                {
                    barrier.SignalAndWaitBounded();
                    if (Volatile.Read(ref stop))
                    {
                        return;
                    }

                    var round = Volatile.Read(ref current)!;
                    for (var i = 0; i < 3 && !round.Returned; i++)
                    {
                        raise(round);
                    }

                    barrier.SignalAndWaitBounded();
                }
            }
            catch (Exception ex)
            {
                raiserFailure = ex;
                barrier.RemoveParticipant();
            }
        });
        raiser.Start();
        try
        {
            var random = new Random(42);
            for (var r = 0; r < rounds && clock.Elapsed < TimeSpan.FromSeconds(15) && Volatile.Read(ref raiserFailure) is null; r++)
            {
                var round = new Round();
                var token = subscribe(round);
                Volatile.Write(ref current, round);
                barrier.SignalAndWaitBounded();
                SpinWait.SpinUntil(() => round.Read, 20);
                Thread.SpinWait(random.Next(200));
                token.Dispose();
                round.Returned = true;
                barrier.SignalAndWaitBounded();
                violations += round.Violations;
                round.Source?.Dispose();
                completed++;
            }
        }
        finally
        {
            // Leaving lets the raiser's next SignalAndWait complete alone; it then sees stop.
            Volatile.Write(ref stop, true);
            if (Volatile.Read(ref raiserFailure) is null)
            {
                barrier.RemoveParticipant();
            }

            raiser.JoinBounded();
        }

        Assert.Null(raiserFailure);
        Assert.True(completed >= 100, $"only {completed} rounds ran");
        return violations;
    }

    private sealed class Round
    {
        private volatile bool _returned;
        private volatile bool _read;

        // Raising thread, just before it calls what it read: had Dispose already returned?
        private bool _lateAtCall;

        public bool Returned
        {
            get => _returned;
            set => _returned = value;
        }

        public int Violations { get; private set; }

        public CancellationTokenSource? Source { get; set; }

        public bool Read => _read;

        /// <summary>Raising thread: it has read what it will call (the main thread then disposes in its window).</summary>
        public void MarkRead() => _read = true;

        public void MarkCall() => _lateAtCall = _returned;

        /// <summary>In the handler (on the raising thread): a call made after Dispose returned must not reach it.</summary>
        public void Started()
        {
            if (_lateAtCall)
            {
                Violations++;
            }
        }
    }

    /// <summary>
    /// An event source whose raise reads the delegate, waits a random moment (so Dispose can complete in between), notes
    /// whether Dispose had returned, then calls what it read.
    /// </summary>
    private sealed class GapSource
    {
        private readonly Random _random = new(7);

        public event EventHandler? Changed;

        public event EventHandler<int>? Valued;

        public event Weighed? Weighed;

        public void RaiseChanged(Round round)
        {
            var handler = Changed;
            round.MarkRead();
            Thread.SpinWait(_random.Next(300));
            round.MarkCall();
            handler?.Invoke(this, EventArgs.Empty);
        }

        public void RaiseValued(Round round)
        {
            var handler = Valued;
            round.MarkRead();
            Thread.SpinWait(_random.Next(300));
            round.MarkCall();
            handler?.Invoke(this, 1);
        }

        // A wider gap than the others', ended early once Dispose returned: a handler added without a forwarder is then
        // reached late in most rounds, not by chance (the disposing thread often sees the read only after a yield).
        public void RaiseWeighed(Round round)
        {
            var handler = Weighed;
            round.MarkRead();
            for (var spins = _random.Next(500); spins > 0 && !round.Returned; spins--)
            {
                Thread.SpinWait(10);
            }

            round.MarkCall();
            handler?.Invoke(1, "x", 2.0);
        }
    }

    private sealed class StartedObserver(Round round) : IObserver<int>
    {
        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }

        public void OnNext(int value) => round.Started();
    }

    /// <summary>Copy-on-write observer list: publish reads a snapshot, as events do.</summary>
    private sealed class ConcurrentObservable : IObservable<int>
    {
        private IObserver<int>[] _observers = [];

        private readonly Random _random = new(11);

        public void Publish(Round round)
        {
            var observers = Volatile.Read(ref _observers);
            round.MarkRead();
            Thread.SpinWait(_random.Next(300));
            round.MarkCall();
            foreach (var observer in observers)
            {
                observer.OnNext(1);
            }
        }

        public IDisposable Subscribe(IObserver<int> observer)
        {
            ImmutableInterlocked.Update(ref _observers, static (list, o) => [.. list, o], observer);
            return new Unsubscriber(this, observer);
        }

        private sealed class Unsubscriber(ConcurrentObservable owner, IObserver<int> observer) : IDisposable
        {
            public void Dispose() => ImmutableInterlocked.Update(ref owner._observers, static (list, o) => Array.FindAll(list, x => !ReferenceEquals(x, o)), observer);
        }
    }

    // The metric is process-wide, and a background purge of another test's dead weak links moves it: a child process,
    // where only these five subscriptions exist, reads exact values.
    [Fact]
    public void ActiveMetric_TracksAttachAndDetach()
    {
        var (exitCode, output) = ChildProcess.Run("subscription-active-metric", TimeSpan.FromSeconds(90));

        Assert.True(exitCode == 0, $"the child ended with {exitCode}: {output}");
        var lines = output.Split('\n', StringSplitOptions.TrimEntries);
        Assert.Contains("before 0", lines);
        Assert.Contains("during 5", lines);
        Assert.Contains("after 0", lines);
    }

    /// <summary>The child of <see cref="ActiveMetric_TracksAttachAndDetach"/>.</summary>
    public static int ActiveMetricTracksAttachAndDetach()
    {
        long observed = -1;

        // Initialized before the listener: its InstrumentPublished reads Metrics.Shared, which would re-enter the
        // static constructor if this were the first to touch the meter.
        _ = Metrics.Shared;
        using var listener = new MeterListener();
        listener.InstrumentPublished = static (instrument, l) =>
        {
            if (instrument.Meter == Metrics.Shared.Meter && instrument.Name == "saferefs.subscription.active")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => observed = value);
        listener.Start();
        _ = Metrics.SubscriptionInstruments.Active;

        listener.RecordObservableInstruments();
        Console.WriteLine($"before {observed}");
        var source = new TestSource();
        var tokens = Enumerable.Range(0, 5)
            .Select(_ => Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { })))
            .ToList();
        listener.RecordObservableInstruments();
        Console.WriteLine($"during {observed}");
        tokens.ForEach(static t => t.Dispose());
        tokens[0].Dispose();
        listener.RecordObservableInstruments();
        Console.WriteLine($"after {observed}");
        return 0;
    }
}
