using System.Runtime.CompilerServices;
using Microsoft.Extensions.ObjectPool;
using SafeRefs.Internal;
using SafeRefs.Pooling;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Tests.Subscriptions;

namespace SafeRefs.Tests.Pooling;

[Collection(GcCollection.Name)]
public sealed class GuardedObjectPoolCollectionTests
{
    [Fact]
    public void Lease_NeverDisposed_IsNotKeptAliveByPool()
    {
        var pool = NewPool();
        var lease = RentAndDrop(pool);

        GcAssert.Collected(lease, "the pool holds no reference to outstanding leases");
        Assert.Equal(1, pool.Statistics.Outstanding);
        GC.KeepAlive(pool);
    }

    [Fact]
    public void Lease_StillReferenced_StaysAlive()
    {
        var pool = NewPool();
        var holder = new List<PoolLease<Widget>>();
        var lease = RentAndHold(pool, holder);

        GcAssert.NotCollected(lease, "the test holds the lease");
        holder[0].Dispose();
        GC.KeepAlive(holder);
        GC.KeepAlive(pool);
    }

    [Fact]
    public void PerLeaseCapture_CollectedAfterReturnWhilePooledObjectLives()
    {
        var pool = NewPool();
        var capture = RentAttachReturn(pool, dispose: true);

        GcAssert.Collected(capture, "the handler was detached when the lease ended");
        using var next = pool.Rent();
        Assert.Equal(0, next.Value.ListenerCount);
        GC.KeepAlive(pool);
    }

    [Fact]
    public void PerLeaseCapture_ForwarderStillHeldAfterTheEnd_Collected()
    {
        // A raise that read the event's delegate before the end (a copy on some stack) still holds the forwarder:
        // the ended lease's forwarder must not keep the handler and its capture alive through it.
        var pool = NewPool();
        var held = new List<Delegate>();
        var capture = RentAttachHoldForwarder(pool, held, end: true);

        Assert.Single(held);
        GcAssert.Collected(capture, "the ended lease's forwarder let go of the handler");
        GC.KeepAlive(held);
        GC.KeepAlive(pool);
    }

    [Fact]
    public void PerLeaseCapture_ForwarderHeld_LeaseNotEnded_Rooted()
    {
        var pool = NewPool();
        var held = new List<Delegate>();
        var capture = RentAttachHoldForwarder(pool, held, end: false);

        GcAssert.NotCollected(capture, "the live lease's forwarder holds the handler");
        GC.KeepAlive(held);
        GC.KeepAlive(pool);
    }

    [Fact]
    public void PerLeaseCapture_RegisteredForwarderStillHeldAfterTheEnd_Collected()
    {
        // As above, for a delegate type whose forwarder is registered (the generator's path): the event holds the
        // registered forwarder around the lease's gate, not the lease's own forwarder delegate.
        var pool = NewCustomSourcePool();
        var held = new List<Delegate>();
        var capture = RentAttachHoldRegisteredForwarder(pool, held, end: true);

        Assert.Single(held);
        GcAssert.Collected(capture, "the ended lease's gate let go of the handler");
        GC.KeepAlive(held);
        GC.KeepAlive(pool);
    }

    [Fact]
    public void PerLeaseCapture_RegisteredForwarderHeld_LeaseNotEnded_Rooted()
    {
        var pool = NewCustomSourcePool();
        var held = new List<Delegate>();
        var capture = RentAttachHoldRegisteredForwarder(pool, held, end: false);

        GcAssert.NotCollected(capture, "the live lease's forwarder holds the handler");
        GC.KeepAlive(held);
        GC.KeepAlive(pool);
    }

    [Fact]
    public void PerLeaseCapture_LeaseNotEnded_RootedByPooledObject()
    {
        var pool = NewPool();
        var holder = new List<Widget>();
        var capture = RentAttachKeepObject(pool, holder);

        GcAssert.NotCollected(capture, "the handler is still attached to the pooled object");
        GC.KeepAlive(holder);
        GC.KeepAlive(pool);
    }

    [Fact]
    public void Statistics_ObjectsDroppedByInnerPoolAndCollected_StayExact()
    {
        var pool = NewPool();
        var dropped = RentManyThenReturn(pool, 8, holder: null);
        GcAssert.Collected(dropped, "the inner pool retains one object and nothing else references the others");

        RentManyThenReturn(pool, 8, holder: null);

        var stats = pool.Statistics;
        Assert.Equal((16L, 16L, 16L, 0L), (stats.Rented, stats.Returned, stats.Detached, stats.Outstanding));
        GC.KeepAlive(pool);
    }

    [Fact]
    public void Statistics_ObjectsDroppedByInnerPoolButStillReferenced_StayExact()
    {
        var pool = NewPool();
        var holder = new List<Widget>();
        var dropped = RentManyThenReturn(pool, 8, holder);
        GcAssert.NotCollected(dropped, "the test holds every object");

        RentManyThenReturn(pool, 8, holder);

        var stats = pool.Statistics;
        Assert.Equal((16L, 16L, 16L, 0L), (stats.Rented, stats.Returned, stats.Detached, stats.Outstanding));
        GC.KeepAlive(holder);
        GC.KeepAlive(pool);
    }

    [Fact]
    public void ObjectDroppedByInnerPool_TheLastOneUsed_IsNotKeptAliveByThePool()
    {
        var pool = new GuardedObjectPool<Widget>(new DefaultObjectPool<Widget>(new DroppingPolicy()));
        var dropped = RentAttachAndEnd(pool, holder: null);
        GcAssert.Collected(dropped, "the inner pool dropped the object and the pool keeps no reference to it");
        GC.KeepAlive(pool);
    }

    [Fact]
    public void ObjectDroppedByInnerPool_StillReferenced_StaysAlive()
    {
        var pool = new GuardedObjectPool<Widget>(new DefaultObjectPool<Widget>(new DroppingPolicy()));
        var holder = new List<Widget>();
        var dropped = RentAttachAndEnd(pool, holder);

        GcAssert.NotCollected(dropped, "the test holds the object");
        using var lease = pool.Rent();
        Assert.NotSame(holder[0], lease.Value);
        Assert.Equal(0, holder[0].ListenerCount);
        GC.KeepAlive(holder);
        GC.KeepAlive(pool);
    }

    private static GuardedObjectPool<Widget> NewPool() =>
        new(new DefaultObjectPool<Widget>(new DefaultPooledObjectPolicy<Widget>(), maximumRetained: 1));

    /// <summary>Rents <paramref name="count"/> objects at once, each with one handler, then ends the leases in order: a pool retaining one object drops the others.</summary>
    /// <returns>A weak reference to the second object returned (dropped by the inner pool).</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference RentAttachHoldForwarder(GuardedObjectPool<Widget> pool, List<Delegate> held, bool end)
    {
        var capture = new byte[1024];
        var lease = pool.Rent();
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => GC.KeepAlive(capture)));
        held.Add(lease.Value.ChangedDelegate!);
        if (end)
        {
            lease.Dispose();
        }

        return new WeakReference(capture);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference RentAttachHoldRegisteredForwarder(GuardedObjectPool<PoolLeaseRegisteredForwarderTests.CustomSource> pool, List<Delegate> held, bool end)
    {
        var capture = new byte[1024];
        var lease = pool.Rent();
        lease.On(static (s, h) => s.Weighed += h, static (s, h) => s.Weighed -= h, (Weighed)((_, _, _) => capture.Length > 0));
        held.Add(lease.Value.WeighedDelegate!);
        if (end)
        {
            lease.Dispose();
        }

        return new WeakReference(capture);
    }

    private static GuardedObjectPool<PoolLeaseRegisteredForwarderTests.CustomSource> NewCustomSourcePool()
    {
        HandForwarders.Ensure();
        return new(new DefaultObjectPool<PoolLeaseRegisteredForwarderTests.CustomSource>(new DefaultPooledObjectPolicy<PoolLeaseRegisteredForwarderTests.CustomSource>(), maximumRetained: 1));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference RentManyThenReturn(GuardedObjectPool<Widget> pool, int count, List<Widget>? holder)
    {
        var leases = new List<PoolLease<Widget>>();
        for (var i = 0; i < count; i++)
        {
            var lease = pool.Rent();
            lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));
            holder?.Add(lease.Value);
            leases.Add(lease);
        }

        var second = new WeakReference(leases[1].Value);
        leases.ForEach(static lease => lease.Dispose());
        return second;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference RentAndDrop(GuardedObjectPool<Widget> pool)
    {
        var lease = pool.Rent();
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));
        return new WeakReference(lease);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference RentAndHold(GuardedObjectPool<Widget> pool, List<PoolLease<Widget>> holder)
    {
        var lease = pool.Rent();
        holder.Add(lease);
        return new WeakReference(lease);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference RentAttachReturn(GuardedObjectPool<Widget> pool, bool dispose)
    {
        var lease = pool.Rent();
        var capture = new List<int>();
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => capture.Add(1)));
        if (dispose)
        {
            lease.Dispose();
        }

        return new WeakReference(capture);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference RentAttachKeepObject(GuardedObjectPool<Widget> pool, List<Widget> holder)
    {
        var lease = pool.Rent();
        holder.Add(lease.Value);
        var capture = new List<int>();
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => capture.Add(1)));
        return new WeakReference(capture);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference RentAttachAndEnd(GuardedObjectPool<Widget> pool, List<Widget>? holder)
    {
        var lease = pool.Rent();
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));
        holder?.Add(lease.Value);
        var reference = new WeakReference(lease.Value);
        lease.Dispose();
        return reference;
    }

    /// <summary>A policy whose pool keeps nothing: every returned object is dropped.</summary>
    private sealed class DroppingPolicy : PooledObjectPolicy<Widget>
    {
        public override Widget Create() => new();

        public override bool Return(Widget obj) => false;
    }
}
