using System.Diagnostics.Metrics;
using SafeRefs.Internal;
using SafeRefs.Subscriptions.WeakLinks;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;
using Listener = SafeRefs.Tests.Subscriptions.SubscribeWeakEventTests.Listener;

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
            barrier.SignalAndWait();
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
        await Task.WhenAll(tasks);

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
            barrier.SignalAndWait();
            while (!done.IsCancellationRequested)
            {
                source.RaiseValued(1);
                WeakLinkRegistry.Purge();
            }
        });
        var tasks = Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            var random = new Random(t);
            var mine = new List<Subscription>();
            barrier.SignalAndWait();
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
                        mine[i].DisposeAsync().AsTask().GetAwaiter().GetResult();
                    }

                    mine[i] = mine[^1];
                    mine.RemoveAt(mine.Count - 1);
                }
            }

            kept[t] = mine;
        })).ToArray();
        await Task.WhenAll(tasks);
        await done.CancelAsync();
        await raiser;

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
    public void ActiveMetric_TracksAttachAndDetach()
    {
        long observed = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = static (instrument, l) =>
        {
            if (instrument.Meter == Metrics.Shared.Meter && instrument.Name == "saferefs.subscriptions.active")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => observed = value);
        listener.Start();
        _ = Metrics.SubscriptionInstruments.Active;
        WeakLinkRegistry.Purge();

        listener.RecordObservableInstruments();
        var before = observed;
        var source = new TestSource();
        var tokens = Enumerable.Range(0, 5)
            .Select(_ => Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { })))
            .ToList();
        listener.RecordObservableInstruments();
        var during = observed;
        tokens.ForEach(static t => t.Dispose());
        tokens[0].Dispose();
        listener.RecordObservableInstruments();

        Assert.Equal(before + 5, during);
        Assert.Equal(before, observed);
    }
}
