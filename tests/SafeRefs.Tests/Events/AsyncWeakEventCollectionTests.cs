using System.Runtime.CompilerServices;
using SafeRefs.Events;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

[Collection(GcCollection.Name)]
public sealed class AsyncWeakEventCollectionTests
{
    [Fact]
    public async Task Subscribe_OwnerDropped_OwnerAndClosureCollected_ControlTwinRuns()
    {
        var source = new AsyncWeakEvent<int>();
        var root = new List<object>();
        var (droppedOwner, droppedCapture) = Subscribe(source, null);
        var (keptOwner, keptCapture) = Subscribe(source, root);
        GcAssert.Collected(droppedOwner, "the owner is held weakly");
        GcAssert.Collected(droppedCapture, "captures live only as long as the owner");
        GcAssert.NotCollected(keptOwner, "the test roots this owner");
        GcAssert.NotCollected(keptCapture, "its owner lives");
        await source.RaiseAsync(null, 1);
        Assert.Equal(1, ((Owner)root[0]).Calls);
        Assert.Equal(1, source.Count);
        GC.KeepAlive(root);
        GC.KeepAlive(source);
    }

    [Fact]
    public async Task Add_TargetDropped_IsCollected_ControlTwinRuns()
    {
        var source = new AsyncWeakEvent<int>();
        var root = new List<object>();
        var dropped = Add(source, null);
        var kept = Add(source, root);
        GcAssert.Collected(dropped, "Add holds the handler's target weakly");
        GcAssert.NotCollected(kept, "the test roots this target");
        await source.RaiseAsync(null, 1);
        Assert.Equal(1, ((Owner)root[0]).Calls);
        Assert.Equal(1, source.Count);
        GC.KeepAlive(root);
        GC.KeepAlive(source);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference Add(AsyncWeakEvent<int> source, List<object>? root)
    {
        var owner = new Owner();
        source.Add(owner.OnAsync);
        root?.Add(owner);
        return new WeakReference(owner);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (WeakReference Owner, WeakReference Capture) Subscribe(AsyncWeakEvent<int> source, List<object>? root)
    {
        var owner = new Owner();
        var capture = new object();
        source.Subscribe(owner, (o, _, _, _) =>
        {
            GC.KeepAlive(capture);
            owner.Calls++;
            return default;
        });
        root?.Add(owner);
        return (new WeakReference(owner), new WeakReference(capture));
    }

    private sealed class Owner
    {
        public int Calls { get; set; }

        public ValueTask OnAsync(object? sender, int e, CancellationToken cancellationToken)
        {
            Calls++;
            return default;
        }
    }
}
