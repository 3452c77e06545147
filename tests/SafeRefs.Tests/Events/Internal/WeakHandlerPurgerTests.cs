using System.Runtime.CompilerServices;
using SafeRefs.Events;
using SafeRefs.Events.Internal;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events.Internal;

/// <summary>The weak events' lists in the purge registry: held weakly, and gone from it once collected.</summary>
[Collection(GcCollection.Name)]
public sealed class WeakHandlerPurgerTests
{
    private const int Events = 200;

    [Fact]
    public void CollectedEvents_LeaveTheRegistryAtTheNextPurge()
    {
        var before = RegisteredAfterPurge();
        var tracked = CreateEvents(root: null);
        Assert.True(WeakHandlerPurger.RegisteredCount - before >= Events / 2, "each event's list registered (some may have left already)");

        GcAssert.Collected(tracked, "the registry holds the lists weakly");
        WeakHandlerPurger.Sweep();

        // Other tests register lists in parallel: allow some slack, far below the events created here.
        Assert.True(WeakHandlerPurger.RegisteredCount - before < Events / 4, $"{WeakHandlerPurger.RegisteredCount - before} lists left");
    }

    [Fact]
    public void LiveEvents_StayRegistered_ControlTwin()
    {
        var root = new List<object>();
        var before = RegisteredAfterPurge();
        var tracked = CreateEvents(root);

        GcAssert.NotCollected(tracked, "the test roots the events");
        WeakHandlerPurger.Sweep();

        Assert.True(WeakHandlerPurger.RegisteredCount - before >= Events - (Events / 4), $"{WeakHandlerPurger.RegisteredCount - before} lists left");
        GC.KeepAlive(root);
    }

    // Lists of earlier tests that died would otherwise leave during this test's purge and skew the difference.
    private static int RegisteredAfterPurge()
    {
        GcAssert.FullCollect();
        WeakHandlerPurger.Sweep();
        return WeakHandlerPurger.RegisteredCount;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference CreateEvents(List<object>? root)
    {
        WeakEvent<int>? last = null;
        for (var i = 0; i < Events; i++)
        {
            last = new WeakEvent<int>();
            var listener = new Listener(); // an instance handler: a weak entry, which registers the list
            last.Add(listener.OnValue);
            root?.Add(last);
            root?.Add(listener);
        }

        return new WeakReference(last);
    }

    private sealed class Listener
    {
        public int Calls { get; private set; }

        public void OnValue(object? sender, int value) => Calls++;
    }
}
