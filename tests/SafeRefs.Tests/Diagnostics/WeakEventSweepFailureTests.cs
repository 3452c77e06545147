using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using SafeRefs.Events;
using SafeRefs.Events.Internal;
using SafeRefs.Internal;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Diagnostics;

/// <summary>A weak event whose background sweep throws (its metric listener does) is counted in <c>saferefs.weak_event.sweep.failures</c>.</summary>
[Collection(GcCollection.Name)]
public sealed class WeakEventSweepFailureTests
{
    [Fact]
    public void Sweep_PurgedListenerThrows_FailureCountedWithTheEventName()
    {
        var name = "sweep-failure-" + Guid.NewGuid().ToString("N");
        using var failures = MetricTotals.Collect("saferefs.weak_event.sweep.failures");
        using var meterFactory = new TestMeterFactory();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meterFactory && instrument.Name == "saferefs.weak_event.handler.purged")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>(static (_, _, _, _) => throw new InvalidOperationException("listener bug"));
        listener.Start();
        var ev = new WeakEvent<int>(new WeakEventOptions { Name = name, MeterFactory = meterFactory });
        AddDyingHandlers(ev, 3);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        WeakHandlerPurger.Sweep(); // the gen-2 sweep on the thread pool may get there first: either way, once

        Assert.True(SpinWait.SpinUntil(() => MetricTotals.Sum(failures, "saferefs.event.name", name) >= 1, TimeSpan.FromSeconds(30)));
        Assert.Equal(1, MetricTotals.Sum(failures, "saferefs.event.name", name));
        GC.KeepAlive(ev);
    }

    /// <summary>
    /// A raise that meets more than max(4, 25 %) dead entries compacts the list and records the purged count on the
    /// raising thread: a throwing listener must not fail that raise of a live event; it is reported like a failed sweep.
    /// The gen-2 sweeps that the collections queue are held until the raise has run, so the raise compacts every time.
    /// </summary>
    [Fact]
    public void Raise_PurgedListenerThrowsOnTheRaisingThread_RaiseDoesNotFailAndTheFailureIsCounted()
    {
        var name = "raise-purge-failure-" + Guid.NewGuid().ToString("N");
        using var failures = MetricTotals.Collect("saferefs.weak_event.sweep.failures");
        using var meterFactory = new TestMeterFactory();
        var raisingThread = -1;
        var listenerRanOnRaiser = false;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meterFactory && instrument.Name == "saferefs.weak_event.handler.purged")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) =>
        {
            if (Environment.CurrentManagedThreadId == Volatile.Read(ref raisingThread))
            {
                listenerRanOnRaiser = true;
                throw new InvalidOperationException("listener bug");
            }
        });
        listener.Start();

        // A task, not an event: a sweep that read the hook just before it was cleared may still wait on it.
        var raised = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        PurgeRegistry.Gen2PurgeHook = () => raised.Task.Wait(TestTimeouts.Bound);
        Exception? raiseFailure;
        try
        {
            var ev = new WeakEvent<int>(new WeakEventOptions { Name = name, MeterFactory = meterFactory });
            var live = new Owner();
            var tracker = new LeakTracker();
            // The live owner first, and the dropped ones kept alive until all are in: a subscribe drops the dead
            // entries it meets, so a collection between two of them would compact the list before the raise.
            using var token = ev.Subscribe(live, static (o, _, _) => o.Calls++);
            SubscribeDroppedOwners(ev, tracker, 6);
            tracker.AssertAllCollected();
            Assert.Equal(7, ev.StoredCount); // no sweep compacted the list before the raise

            Volatile.Write(ref raisingThread, Environment.CurrentManagedThreadId);
            raiseFailure = Record.Exception(() => ev.Raise(null, 1));
            Volatile.Write(ref raisingThread, -1);
            Assert.Equal(1, live.Calls);
            Assert.Equal(1, ev.StoredCount);
            GC.KeepAlive(live);
        }
        finally
        {
            PurgeRegistry.Gen2PurgeHook = null;
            raised.SetResult();
        }

        Assert.True(listenerRanOnRaiser, "the raise did not compact the list itself");
        Assert.Null(raiseFailure);
        Assert.Equal(1, MetricTotals.Sum(failures, "saferefs.event.name", name));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SubscribeDroppedOwners(WeakEvent<int> ev, LeakTracker tracker, int count)
    {
        var owners = new Owner[count];
        for (var i = 0; i < count; i++)
        {
            owners[i] = new Owner();
            tracker.Track(owners[i]);
            _ = ev.Subscribe(owners[i], static (o, _, _) => o.Calls++);
        }

        GC.KeepAlive(owners);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddDyingHandlers(WeakEvent<int> ev, int count)
    {
        for (var i = 0; i < count; i++)
        {
            ev.Add(new Target().Handle);
        }
    }

    private sealed class Target
    {
        public int Calls { get; private set; }

        public void Handle(object? sender, int args) => Calls++;
    }

    private sealed class Owner
    {
        public int Calls { get; set; }
    }
}
