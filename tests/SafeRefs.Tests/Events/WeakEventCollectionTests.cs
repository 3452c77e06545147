using System.Runtime.CompilerServices;
using SafeRefs.Events;
using SafeRefs.Events.Internal;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

[Collection(GcCollection.Name)]
public sealed class WeakEventCollectionTests
{
    [Fact]
    public void Add_TargetDropped_IsCollectedWhileSourceLives()
    {
        var source = new WeakEvent<int>();
        var tracked = AddListener(source);
        GcAssert.Collected(tracked, "Add holds the handler's target weakly");
        source.Raise(null, 1);
        Assert.Equal(0, source.Count);
        GC.KeepAlive(source);
    }

    [Fact]
    public void Add_TargetStillReferenced_ControlTwin_StaysAliveAndFires()
    {
        var source = new WeakEvent<int>();
        var root = new List<object>();
        var tracked = AddListener(source, root);
        GcAssert.NotCollected(tracked, "the test roots the listener");
        source.Raise(null, 1);
        Assert.Equal(1, ((Listener)root[0]).Calls);
        Assert.Equal(1, source.Count);
        GC.KeepAlive(root);
        GC.KeepAlive(source);
    }

    [Fact]
    public void Subscribe_OwnerDropped_OwnerAndCapturingClosureAreCollected()
    {
        var source = new WeakEvent<int>();
        var (owner, closureCapture) = SubscribeCapturingOwner(source);
        GcAssert.Collected(owner, "the closure captures the owner, but the ephemeron does not root it");
        GcAssert.Collected(closureCapture, "the handler's captures live only as long as the owner");
        source.Raise(null, 1);
        Assert.Equal(0, source.Count);
        GC.KeepAlive(source);
    }

    [Fact]
    public void Subscribe_OwnerAlive_ControlTwin_ClosureNeverCollectedAndFires()
    {
        var source = new WeakEvent<int>();
        var root = new List<object>();
        var (owner, closureCapture) = SubscribeCapturingOwner(source, root);
        GcAssert.NotCollected(closureCapture, "the owner lives, so its bound closure must live");
        GcAssert.NotCollected(owner, "the test roots the owner");
        source.Raise(null, 1);
        Assert.Equal(1, ((Listener)root[0]).Calls);
        GC.KeepAlive(root);
        GC.KeepAlive(source);
    }

    [Fact]
    public void Subscribe_StaticLambda_OwnerDropped_IsCollected_ControlTwinFires()
    {
        var source = new WeakEvent<int>();
        var root = new List<object>();
        var dropped = SubscribeStatic(source, null);
        var kept = SubscribeStatic(source, root);
        GcAssert.Collected(dropped, "Subscribe holds the owner weakly");
        GcAssert.NotCollected(kept, "the test roots this owner");
        source.Raise(null, 1);
        Assert.Equal(1, ((Listener)root[0]).Calls);
        Assert.Equal(1, source.Count);
        GC.KeepAlive(root);
        GC.KeepAlive(source);
    }

    [Fact]
    public void Subscribe_DisposedToken_ReleasesCapturesWhileOwnerLives()
    {
        var source = new WeakEvent<int>();
        var root = new List<object>();
        var (_, closureCapture) = SubscribeCapturingOwner(source, root, disposeToken: true);
        GcAssert.Collected(closureCapture, "a disposed subscription releases its handler at once");
        GC.KeepAlive(root);
        GC.KeepAlive(source);
    }

    [Fact]
    public void Source_Dropped_IsCollectedWhileSubscribersLive()
    {
        var root = new List<object>();
        var tracked = GcAssert.Track(() => CreateSourceWithSubscribers(root));
        GcAssert.Collected(tracked, "subscribers never reference the source");
        GC.KeepAlive(root);
    }

    [Fact]
    public void DeadEntries_WithoutRaiseOrAdd_AreBoundedAfterGen2()
    {
        var source = new WeakEvent<int>();
        var root = new List<object>();
        const int Live = 10;
        const int Dying = 200;
        AddMany(source, root, Live, Dying);
        Assert.Equal(Live + Dying, source.StoredCount);

        GcAssert.FullCollect();
        var bounded = SpinWait.SpinUntil(
            () => source.StoredCount <= Live + WeakHandlerList.Slack(Live),
            TimeSpan.FromSeconds(30));

        Assert.True(bounded, $"stored {source.StoredCount} entries for {Live} live ones");
        Assert.True(WeakHandlerPurger.SweepsCompleted > 0);
        Assert.Equal(Live, source.Count);
        GC.KeepAlive(root);
        GC.KeepAlive(source);
    }

    [Fact]
    public void DeadEntries_ControlTwin_LiveEntriesAreKeptBySweeps()
    {
        var source = new WeakEvent<int>();
        var root = new List<object>();
        AddMany(source, root, 50, 0);
        GcAssert.FullCollect();
        WeakHandlerPurger.Sweep();
        Assert.Equal(50, source.StoredCount);
        Assert.Equal(50, source.Count);
        GC.KeepAlive(root);
        GC.KeepAlive(source);
    }

    [Fact]
    public void Raise_WithDeadEntries_DropsThemAndAllocatesNothingAfterwards()
    {
        var source = new WeakEvent<int>();
        var root = new List<object>();
        AddMany(source, root, 20, 20);
        GcAssert.FullCollect();
        source.Raise(null, 1);
        Assert.True(source.StoredCount <= 20 + WeakHandlerList.Slack(20));
        source.Raise(null, 1);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            source.Raise(null, i);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        GC.KeepAlive(root);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference AddListener(WeakEvent<int> source, List<object>? root = null)
    {
        var listener = new Listener();
        source.Add(listener.On);
        root?.Add(listener);
        return new WeakReference(listener);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference SubscribeStatic(WeakEvent<int> source, List<object>? root)
    {
        var owner = new Listener();
        source.Subscribe(owner, static (o, s, e) => o.On(s, e));
        root?.Add(owner);
        return new WeakReference(owner);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (WeakReference Owner, WeakReference Capture) SubscribeCapturingOwner(
        WeakEvent<int> source, List<object>? root = null, bool disposeToken = false)
    {
        var owner = new Listener();
        var capture = new object();
        var token = source.Subscribe(owner, (o, s, e) =>
        {
            GC.KeepAlive(capture);
            owner.On(s, e); // captures the owner itself: must not root it
        });
        if (disposeToken)
        {
            token.Dispose();
        }

        root?.Add(owner);
        return (new WeakReference(owner), new WeakReference(capture));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakEvent<int> CreateSourceWithSubscribers(List<object> root)
    {
        var source = new WeakEvent<int>();
        var listener = new Listener();
        source.Add(listener.On);
        source.Subscribe(listener, static (o, s, e) => o.On(s, e));
        root.Add(listener);
        return source;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddMany(WeakEvent<int> source, List<object> root, int live, int dying)
    {
        for (var i = 0; i < live + dying; i++)
        {
            var listener = new Listener();
            if (i % 2 == 0)
            {
                source.Add(listener.On);
            }
            else
            {
                source.Subscribe(listener, static (o, s, e) => o.On(s, e));
            }

            if (i < live)
            {
                root.Add(listener);
            }
        }
    }

    private sealed class Listener
    {
        public int Calls { get; private set; }

        public void On(object? sender, int e) => Calls++;
    }
}
