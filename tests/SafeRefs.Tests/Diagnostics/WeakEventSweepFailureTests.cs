using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using SafeRefs.Events;
using SafeRefs.Events.Internal;
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
}
