using System.Runtime.CompilerServices;
using Microsoft.Extensions.ObjectPool;
using SafeRefs.Pooling;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

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
    public void PerLeaseCapture_LeaseNotEnded_RootedByPooledObject()
    {
        var pool = NewPool();
        var holder = new List<Widget>();
        var capture = RentAttachKeepObject(pool, holder);

        GcAssert.NotCollected(capture, "the handler is still attached to the pooled object");
        GC.KeepAlive(holder);
        GC.KeepAlive(pool);
    }

    private static GuardedObjectPool<Widget> NewPool() =>
        new(new DefaultObjectPool<Widget>(new DefaultPooledObjectPolicy<Widget>(), maximumRetained: 1));

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
}
