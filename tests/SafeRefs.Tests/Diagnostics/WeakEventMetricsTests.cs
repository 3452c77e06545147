using System.Runtime.CompilerServices;
using SafeRefs.Events;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Diagnostics;

[Collection(GcCollection.Name)]
public sealed class WeakEventMetricsTests
{
    [Fact]
    public void Handlers_AddSubscribeRemoveDispose_UpAndDownByEventName()
    {
        var name = "metrics-handlers-" + Guid.NewGuid().ToString("N");
        using var handlers = MetricTotals.Collect("saferefs.weak_event.handler.count");
        var ev = new WeakEvent<int>(new WeakEventOptions { Name = name });
        var target = new Target();
        var owner = new object();

        ev.Add(target.Handle);
        var subscription = ev.Subscribe(owner, static (_, _, _) => { });
        Assert.Equal(2, MetricTotals.Sum(handlers, "saferefs.event.name", name));

        ev.Remove(target.Handle);
        Assert.Equal(1, MetricTotals.Sum(handlers, "saferefs.event.name", name));

        subscription.Dispose();
        subscription.Dispose();
        Assert.Equal(0, MetricTotals.Sum(handlers, "saferefs.event.name", name));
        GC.KeepAlive(owner);
    }

    [Fact]
    public void Purged_TargetsCollected_CountedOnceWhenSwept()
    {
        var name = "metrics-purged-" + Guid.NewGuid().ToString("N");
        using var purged = MetricTotals.Collect("saferefs.weak_event.handler.purged");
        using var handlers = MetricTotals.Collect("saferefs.weak_event.handler.count");
        var ev = new WeakEvent<int>(new WeakEventOptions { Name = name });
        AddDyingHandlers(ev, 3);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        var survivor = new Target();
        ev.Add(survivor.Handle);   // Add sweeps the dead entries out

        // Unless the gen-2 purge on the thread pool compacted the list first: it records after releasing the list's
        // lock, so its count may land just after this Add returned.
        Assert.True(SpinWait.SpinUntil(() => MetricTotals.Sum(purged, "saferefs.event.name", name) >= 3, TimeSpan.FromSeconds(30)));
        Assert.Equal(3, MetricTotals.Sum(purged, "saferefs.event.name", name));
        Assert.Equal(1, MetricTotals.Sum(handlers, "saferefs.event.name", name));
        GC.KeepAlive(survivor);
    }

    [Fact]
    public void Purged_TargetsAlive_NothingPurged()
    {
        var name = "metrics-purged-control-" + Guid.NewGuid().ToString("N");
        using var purged = MetricTotals.Collect("saferefs.weak_event.handler.purged");
        using var handlers = MetricTotals.Collect("saferefs.weak_event.handler.count");
        var ev = new WeakEvent<int>(new WeakEventOptions { Name = name });
        var roots = AddLiveHandlers(ev, 3);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        var survivor = new Target();
        ev.Add(survivor.Handle);

        Assert.Equal(0, MetricTotals.Sum(purged, "saferefs.event.name", name));
        Assert.Equal(4, MetricTotals.Sum(handlers, "saferefs.event.name", name));
        GC.KeepAlive(roots);
        GC.KeepAlive(survivor);
    }

    [Fact]
    public void Handlers_AttachedBeforeAnyoneListened_CountedThenCountedDown()
    {
        var name = "metrics-unlistened-" + Guid.NewGuid().ToString("N");
        var ev = new WeakEvent<int>(new WeakEventOptions { Name = name });
        var owner = new object();
        var before = ev.Subscribe(owner, static (_, _, _) => { });

        using var handlers = MetricTotals.Collect("saferefs.weak_event.handler.count");
        Assert.Equal(1, MetricTotals.Sum(handlers, "saferefs.event.name", name));   // attached while nobody listened: counted
        before.Dispose();
        var after = ev.Subscribe(owner, static (_, _, _) => { });

        Assert.Equal(1, MetricTotals.Sum(handlers, "saferefs.event.name", name));
        after.Dispose();
        Assert.Equal(0, MetricTotals.Sum(handlers, "saferefs.event.name", name));
        GC.KeepAlive(owner);
    }

    [Fact]
    public void Handlers_EventCollectedWithHandlersAttached_DropsOut()
    {
        var name = "metrics-dropped-event-" + Guid.NewGuid().ToString("N");
        using var handlers = MetricTotals.Collect("saferefs.weak_event.handler.count");
        var owner = new object();
        AttachAndDropEvent(name, owner, 3);
        Assert.Equal(3, MetricTotals.Sum(handlers, "saferefs.event.name", name));

        // Polled: an event with weak handlers is collected once its handles' releaser finished two finalization passes.
        var dropped = SpinWait.SpinUntil(
            () =>
            {
                GcAssert.FullCollect();
                return MetricTotals.Sum(handlers, "saferefs.event.name", name) == 0;
            },
            TimeSpan.FromSeconds(30));

        Assert.True(dropped, "the handlers of a collected event are still counted");
        GC.KeepAlive(owner);
    }

    [Fact]
    public void Handlers_EventKeptWithHandlersAttached_StillCounted()
    {
        var name = "metrics-kept-event-" + Guid.NewGuid().ToString("N");
        using var handlers = MetricTotals.Collect("saferefs.weak_event.handler.count");
        var owner = new object();
        var ev = AttachToDroppedEvent(name, owner, 3);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.Equal(3, MetricTotals.Sum(handlers, "saferefs.event.name", name));
        GC.KeepAlive(ev);
        GC.KeepAlive(owner);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AttachAndDropEvent(string name, object owner, int count) => _ = AttachToDroppedEvent(name, owner, count);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakEvent<int> AttachToDroppedEvent(string name, object owner, int count)
    {
        var ev = new WeakEvent<int>(new WeakEventOptions { Name = name });
        for (var i = 0; i < count; i++)
        {
            _ = ev.Subscribe(owner, static (_, _, _) => { });
        }

        return ev;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddDyingHandlers(WeakEvent<int> ev, int count)
    {
        for (var i = 0; i < count; i++)
        {
            ev.Add(new Target().Handle);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<Target> AddLiveHandlers(WeakEvent<int> ev, int count)
    {
        var roots = new List<Target>();
        for (var i = 0; i < count; i++)
        {
            var target = new Target();
            roots.Add(target);
            ev.Add(target.Handle);
        }

        return roots;
    }

    private sealed class Target
    {
        public int Calls { get; private set; }

        public void Handle(object? sender, int args) => Calls++;
    }
}
