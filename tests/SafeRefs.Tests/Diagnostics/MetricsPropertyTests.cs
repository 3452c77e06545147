using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.ObjectPool;
using SafeRefs.Events;
using SafeRefs.Pooling;
using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Diagnostics;

/// <summary>Random operation sequences on a primitive; the recorded counts match a model after every step.</summary>
public sealed class MetricsPropertyTests
{
    private static Arbitrary<(int Op, int Pick)[]> Operations(int opCount)
    {
        var step = from o in Gen.Choose(0, opCount - 1)
                   from p in Gen.Choose(0, 1000)
                   select (o, p);
        return Gen.ArrayOf(step).ToArbitrary();
    }

    // Operation codes: 0 Subscribe(owner), 1 Add(weak-target handler), 2 dispose a subscription, 3 Remove a handler.
    [Property(MaxTest = 100)]
    public Property WeakEventHandlers_RandomAddRemove_MatchModel() =>
        Prop.ForAll(Operations(4), ops => ReplayWeakEvent(ops));

    // Operation codes: 0 Rent, 1 end a lease, 2 attach a listener through a lease, 3 Get + Return.
    [Property(MaxTest = 100)]
    public Property PoolLeases_RandomRentReturnAttach_MatchModel() =>
        Prop.ForAll(Operations(4), ops => ReplayPool(ops));

    private static bool ReplayWeakEvent((int Op, int Pick)[] operations)
    {
        var name = "metrics-property-" + Guid.NewGuid().ToString("N");
        using var handlers = MetricTotals.Collect("saferefs.weak_events.handlers");
        var ev = new WeakEvent<int>(new WeakEventOptions { Name = name });
        var owner = new object();
        var subscriptions = new List<Subscription>();
        var targets = new List<Target>();
        var attached = 0;

        foreach (var (op, pick) in operations)
        {
            switch (op)
            {
                case 0:
                    subscriptions.Add(ev.Subscribe(owner, static (_, _, _) => { }));
                    attached++;
                    break;
                case 1:
                    var target = new Target();
                    targets.Add(target);
                    ev.Add(target.Handle);
                    attached++;
                    break;
                case 2 when subscriptions.Count > 0:
                    var i = pick % subscriptions.Count;
                    subscriptions[i].Dispose();
                    subscriptions.RemoveAt(i);
                    attached--;
                    break;
                case 3 when targets.Count > 0:
                    var j = pick % targets.Count;
                    ev.Remove(targets[j].Handle);
                    targets.RemoveAt(j);
                    attached--;
                    break;
            }

            if (MetricTotals.Sum(handlers, "event.name", name) != attached || ev.Count != attached)
            {
                return false;
            }
        }

        GC.KeepAlive(owner);
        GC.KeepAlive(targets);
        return true;
    }

    private static bool ReplayPool((int Op, int Pick)[] operations)
    {
        using var outstanding = MetricTotals.Collect("saferefs.pool.leases.outstanding");
        using var detached = MetricTotals.Collect("saferefs.pool.listeners.detached");
        var pool = new GuardedObjectPool<PropertyWidget>(
            new DefaultObjectPool<PropertyWidget>(new DefaultPooledObjectPolicy<PropertyWidget>()),
            new ListenerGuardOptions<PropertyWidget> { MaxListenersPerEvent = 0 });
        var tag = typeof(PropertyWidget).FullName!;
        var leases = new List<(PoolLease<PropertyWidget> Lease, int Listeners)>();
        long detachedModel = 0;

        try
        {
            foreach (var (op, pick) in operations)
            {
                switch (op)
                {
                    case 0:
                        leases.Add((pool.Rent(), 0));
                        break;
                    case 1 when leases.Count > 0:
                        var i = pick % leases.Count;
                        leases[i].Lease.Dispose();
                        detachedModel += leases[i].Listeners;
                        leases.RemoveAt(i);
                        break;
                    case 2 when leases.Count > 0:
                        var j = pick % leases.Count;
                        leases[j].Lease.On<EventHandler>(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, static (_, _) => { });
                        leases[j] = (leases[j].Lease, leases[j].Listeners + 1);
                        break;
                    case 3:
                        pool.Return(pool.Get());
                        break;
                }

                if (MetricTotals.Sum(outstanding, "pool.object.type", tag) != leases.Count
                    || MetricTotals.Sum(detached, "pool.object.type", tag) != detachedModel)
                {
                    return false;
                }
            }

            return true;
        }
        finally
        {
            foreach (var (lease, _) in leases)
            {
                lease.Dispose();
            }
        }
    }

    private sealed class Target
    {
        public int Calls { get; private set; }

        public void Handle(object? sender, int args) => Calls++;
    }

    // Only this class rents this type, so its pool.object.type tag isolates these measurements.
    private sealed class PropertyWidget
    {
        public event EventHandler? Changed;

        public void Raise() => Changed?.Invoke(this, EventArgs.Empty);
    }
}
