using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Events;
using SafeRefs.Events.Internal;
using SafeRefs.Subscriptions;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

/// <summary>
/// Purges of weak-event entries that overlap a raise, a dispose or another purge, made to overlap deterministically
/// through callbacks the library already makes (a handler, a metric listener) instead of sleeps. An entry dropped by a
/// purge stays readable by a raise that still holds the older snapshot (its handles are freed only once no raise is in
/// progress; in Debug a read of a freed handle fails an assertion), and a disposed entry never starts.
/// </summary>
[Collection(GcCollection.Name)]
public sealed class WeakEventPurgeOverlapTests
{
    // Inside the first handler: a token later in the snapshot is disposed, its owner dies, a gen-2 collection runs and
    // a full sweep on another thread compacts the list. The raise goes on over the older snapshot.
    [Fact]
    public void SweepDuringRaise_RaiseFinishesOnItsSnapshot_DisposedAndDeadEntriesDoNotStart()
    {
        var source = new WeakEvent<int>();
        var owner = new Owner();
        Subscription? disposedInside = null;
        using var first = source.Subscribe(owner, (o, _, _) =>
        {
            o.Log.Add("first");
            disposedInside!.Dispose();
            GcAssert.FullCollect();
            RunOnOtherThread(WeakHandlerPurger.Sweep);
            o.StoredDuringRaise = source.StoredCount;
        });
        disposedInside = source.Subscribe(owner, static (o, _, _) => o.Log.Add("disposed"));
        var dying = SubscribeDroppedOwner(source, owner.Log);
        source.Add(owner.OnLast);

        source.Raise(null, 1);

        Assert.False(dying.IsAlive);
        Assert.Equal(["first", "last"], owner.Log);
        Assert.Equal(2, owner.StoredDuringRaise); // the sweep dropped both while the raise was still running
        Assert.Equal(2, source.Count);
        owner.Log.Clear();
        source.Raise(null, 2);
        Assert.Equal(["first", "last"], owner.Log);
        GC.KeepAlive(owner);
    }

    // Control twin: the same raise without the sweep and with the owner kept alive runs every live handler.
    [Fact]
    public void SweepDuringRaise_Control_WithoutDisposeOrDeath_AllRun()
    {
        var source = new WeakEvent<int>();
        var owner = new Owner();
        using var first = source.Subscribe(owner, static (o, _, _) => o.Log.Add("first"));
        using var second = source.Subscribe(owner, static (o, _, _) => o.Log.Add("disposed"));
        source.Add(owner.OnLast);
        source.Raise(null, 1);
        Assert.Equal(["first", "disposed", "last"], owner.Log);
        GC.KeepAlive(owner);
    }

    // Inside a purge (the metric listener of saferefs.weak_event.handler.purged runs after the compacted array was
    // published and the list's lock released): a dispose, a raise and a second sweep run on other threads. The dispose
    // closes its gate and frees its entry; the raise completes and does not start the disposed handler; the second
    // sweep is started there and finishes after it.
    [Fact]
    public void RaiseDisposeAndSweep_DuringAPurge_CompleteCorrectly()
    {
        using var factory = new TestMeterFactory();
        var source = new WeakEvent<int>(new WeakEventOptions { MeterFactory = factory, Name = "Overlap" });
        var owner = new Owner();
        using var kept = source.Subscribe(owner, static (o, _, _) => o.Log.Add("kept"));
        var disposed = source.Subscribe(owner, static (o, _, _) => o.Log.Add("disposed"));
        source.Add(owner.OnLast);
        var inside = 0;
        Thread? secondSweep = null;
        Thread? disposer = null;
        var disposedEntry = ((WeakHandlerSubscription)disposed).Entry;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Name == "saferefs.weak_event.handler.purged")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) =>
        {
            if (Interlocked.Exchange(ref inside, 1) != 0)
            {
                return;
            }

            disposer = new Thread(disposed.Dispose);
            disposer.Start();
            Assert.True(SpinWait.SpinUntil(() => disposedEntry.IsFreed, TimeSpan.FromSeconds(30)));
            RunOnOtherThread(() => source.Raise(null, 1));
            var sweeper = new Thread(WeakHandlerPurger.Sweep);
            sweeper.Start();
            Volatile.Write(ref secondSweep, sweeper); // published once started: the test thread joins it
        });
        listener.Start();
        var dying = AddDroppedTargets(source, count: 6);
        GcAssert.FullCollect();

        // A gen-2 sweep on the thread pool may purge first: the overlap then happens there. Either way once.
        WeakHandlerPurger.Sweep();
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref secondSweep) is not null, TimeSpan.FromSeconds(30)));
        secondSweep!.JoinBounded();
        disposer!.JoinBounded();
        Assert.True(disposedEntry.IsFreed);

        Assert.False(dying.IsAlive);
        Assert.Equal(["kept", "last"], owner.Log); // the raise inside the purge met the compacted array
        owner.Log.Clear();
        source.Raise(null, 2);
        Assert.Equal(["kept", "last"], owner.Log);
        Assert.Equal(2, source.StoredCount);
        GC.KeepAlive(owner);
    }

    // A metric listener is user code and runs outside the list's lock: a listener that waits for a Dispose of the same
    // event on another thread completes. The wait has a timeout, so a regression fails the test instead of hanging it.
    [Fact]
    public void PurgedMetricListener_WaitingForADisposeOnAnotherThread_DoesNotDeadlock()
    {
        using var factory = new TestMeterFactory();
        var source = new WeakEvent<int>(new WeakEventOptions { MeterFactory = factory, Name = "Waiting" });
        var owner = new Owner();
        var token = source.Subscribe(owner, static (o, _, _) => o.Log.Add("disposed"));
        using var recorded = new ManualResetEventSlim();
        var disposedInTime = false;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Name == "saferefs.weak_event.handler.purged")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) =>
        {
            // A thread of its own: a task could be inlined on this thread, which may hold the (re-entrant) lock.
            var disposer = new Thread(token.Dispose);
            disposer.Start();
            if (!recorded.IsSet)
            {
                disposedInTime = disposer.Join(TimeSpan.FromSeconds(10));
                recorded.Set();
            }
        });
        listener.Start();
        var dying = SubscribeDroppedOwner(source, owner.Log);
        GcAssert.FullCollect();

        // A gen-2 sweep on the thread pool may purge first: the listener then runs there. Either way it runs.
        source.Handlers.Purge();

        Assert.True(recorded.Wait(TimeSpan.FromSeconds(30)), "no purge was recorded");
        Assert.True(disposedInTime, "a Dispose on another thread waited for a metric listener holding the list's lock");
        Assert.False(dying.IsAlive);
        source.Raise(null, 1);
        Assert.Empty(owner.Log);
        Assert.Equal(0, source.StoredCount);
        GC.KeepAlive(owner);
    }

    private static void RunOnOtherThread(Action action)
    {
        Exception? failure = null;
        var thread = new Thread(() => failure = Record.Exception(action));
        thread.Start();
        thread.JoinBounded();
        if (failure is not null)
        {
            throw new InvalidOperationException("The overlapping operation failed.", failure);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference SubscribeDroppedOwner(WeakEvent<int> source, List<string> log)
    {
        var owner = new Owner();
        source.Subscribe(owner, (_, _, _) => log.Add("dead owner ran"));
        return new WeakReference(owner);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference AddDroppedTargets(WeakEvent<int> source, int count)
    {
        var first = new Owner();
        source.Add(first.OnLast);
        for (var i = 1; i < count; i++)
        {
            source.Add(new Owner().OnLast);
        }

        return new WeakReference(first);
    }

    private sealed class Owner
    {
        public List<string> Log { get; } = [];

        public int StoredDuringRaise { get; set; }

        public void OnLast(object? sender, int e) => Log.Add("last");
    }
}
