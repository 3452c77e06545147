using System.Runtime.CompilerServices;
using SafeRefs.Subscriptions;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// A disposed <c>Subscribe.Event</c> token holds no handler (<see cref="Subscription"/>'s contract: "until it is
/// disposed, then nothing"), so a source that still holds the forwarder it was given does not keep the listener alive.
/// That happens when a raise's copy of the event's delegate outlives the detach: in the HTTP keep-alive test the rest
/// of the test ran synchronously inside the last response's read (an awaited task completed inline), whose frame still
/// held the copy it had invoked; the last request stayed reachable through the disposed token.
/// </summary>
[Collection(GcCollection.Name)]
public sealed class SubscribeEventReleaseTests
{
    [Fact]
    public void EventHandler_Disposed_ListenerCollectedWhileSourceHoldsTheForwarder()
    {
        var source = new HoldingSource();
        var listener = Attach(source, dispose: true, generic: false);

        Assert.NotNull(source.Held);
        GcAssert.Collected(listener, "the disposed token no longer holds the handler");
        GC.KeepAlive(source);
    }

    [Fact]
    public void EventHandler_NotDisposed_ListenerRootedThroughTheForwarder()
    {
        var source = new HoldingSource();
        var listener = Attach(source, dispose: false, generic: false);

        GcAssert.NotCollected(listener, "the source holds the live token's forwarder, and the token its handler");
        GC.KeepAlive(source);
    }

    [Fact]
    public void GenericEventHandler_Disposed_ListenerCollectedWhileSourceHoldsTheForwarder()
    {
        var source = new HoldingSource();
        var listener = Attach(source, dispose: true, generic: true);

        Assert.NotNull(source.Held);
        GcAssert.Collected(listener, "the disposed token no longer holds the handler");
        GC.KeepAlive(source);
    }

    [Fact]
    public void GenericEventHandler_NotDisposed_ListenerRootedThroughTheForwarder()
    {
        var source = new HoldingSource();
        var listener = Attach(source, dispose: false, generic: true);

        GcAssert.NotCollected(listener, "the source holds the live token's forwarder, and the token its handler");
        GC.KeepAlive(source);
    }

    [Fact]
    public void Disposed_RaiseThroughTheHeldForwarder_DoesNotCallTheHandler()
    {
        var source = new HoldingSource();
        var calls = 0;
        var token = Subscribe.Event(source, static (s, h) => s.Held = h, static (_, _) => { }, (EventHandler<int>)((_, _) => calls++));
        ((EventHandler<int>)source.Held!)(source, 1);
        token.Dispose();

        ((EventHandler<int>)source.Held!)(source, 2);

        Assert.Equal(1, calls);
    }

    // The listener is built here, so only the token's handler reaches it.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference Attach(HoldingSource source, bool dispose, bool generic)
    {
        var listener = new Listener();
        var token = generic
            ? Subscribe.Event(source, static (s, h) => s.Held = h, static (_, _) => { }, (EventHandler<int>)listener.OnValue)
            : Subscribe.Event(source, static (s, h) => s.Held = h, static (_, _) => { }, (EventHandler)listener.OnChanged);
        if (dispose)
        {
            token.Dispose();
        }

        return new WeakReference(listener);
    }

    /// <summary>A source whose remove accessor leaves its copy of the delegate in place, like a raise still holding it.</summary>
    private sealed class HoldingSource
    {
        public Delegate? Held;
    }

    private sealed class Listener
    {
        public int Calls;

        public void OnChanged(object? sender, EventArgs e) => Calls++;

        public void OnValue(object? sender, int e) => Calls++;
    }
}
