using System.Runtime.CompilerServices;
using SafeRefs.Internal;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Internal;

[Collection(GcCollection.Name)]
public sealed class ThreadCountersCollectionTests
{
    [Fact]
    public void Owner_UsedOnALiveThread_IsCollectedOnceDropped()
    {
        var owner = UseOwner(keep: null);

        GcAssert.Collected(owner, "a thread's cached cells never reference the counters' owner");
    }

    [Fact]
    public void Owner_UsedOnALiveThreadAndStillReferenced_StaysAlive()
    {
        var holder = new List<object>();
        var owner = UseOwner(holder);

        GcAssert.NotCollected(owner, "the test holds the owner");
        GC.KeepAlive(holder);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference UseOwner(List<object>? keep)
    {
        var owner = new Owner();
        owner.Counters.Local.Add0(1);
        keep?.Add(owner);
        return new WeakReference(owner);
    }

    private sealed class Owner
    {
        public ThreadCounters Counters { get; } = new();
    }
}
