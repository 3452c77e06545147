using System.Runtime.CompilerServices;
using SafeRefs.Subscriptions;
using SafeRefs.Subscriptions.WeakLinks;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;
using Listener = SafeRefs.Tests.Subscriptions.SubscribeWeakEventTests.Listener;

namespace SafeRefs.Tests.Subscriptions;

[Collection(GcCollection.Name)]
public sealed class SubscribeWeakEventCollectionTests
{
    [Fact]
    public void WeakEvent_DroppedOwners_AreCollectedAndPurgedWithoutRaising()
    {
        var source = new TestSource();
        var tracker = new LeakTracker();
        var tokens = new List<Subscription>();
        for (var i = 0; i < 20; i++)
        {
            tokens.Add(SubscribeDroppedOwner(source, tracker));
        }

        Assert.Equal(20, source.ValuedCount);
        tracker.AssertAllCollected();
        WeakLink.Registry.Purge();

        // A gen-2 purge on the thread pool may have taken some links before this Purge and still be detaching them.
        Assert.True(
            SpinWait.SpinUntil(() => source.ValuedCount == 0, TimeSpan.FromSeconds(30)),
            $"still attached: {source.ValuedCount}");
        GC.KeepAlive(source);
        GC.KeepAlive(tokens);
    }

    [Fact]
    public async Task WeakEvent_LinksDetachedByRaiseOrPurge_TokensStayActiveUntilDisposed_ThenDisposeDoesNothingMore()
    {
        var raised = new TestSource();
        var purged = new TestSource();
        var tracker = new LeakTracker();
        var tokens = new List<Subscription>();
        for (var i = 0; i < 10; i++)
        {
            tokens.Add(SubscribeDroppedOwner(raised, tracker));
            tokens.Add(SubscribeDroppedOwner(purged, tracker));
        }

        tracker.AssertAllCollected();
        raised.RaiseValued(1);
        WeakLink.Registry.Purge();

        // The raise and the purge (or a gen-2 purge on the thread pool, which may still be removing one) detached the dead
        // owners' forwarders; the tokens report active until they are disposed, and disposing them then is harmless.
        Assert.True(
            SpinWait.SpinUntil(() => (raised.ValuedCount, purged.ValuedCount) == (0, 0), TimeSpan.FromSeconds(30)),
            $"still attached: {(raised.ValuedCount, purged.ValuedCount)}");
        Assert.All(tokens, static token => Assert.True(token.IsActive));
        for (var i = 0; i < tokens.Count; i++)
        {
            if (i % 2 == 0)
            {
                tokens[i].Dispose();
            }
            else
            {
                await tokens[i].DisposeAsync().Bounded();
            }

            tokens[i].Dispose();
        }

        Assert.All(tokens, static token => Assert.False(token.IsActive));
        Assert.Equal((0, 0), (raised.ValuedCount, purged.ValuedCount));
        GC.KeepAlive(raised);
        GC.KeepAlive(purged);
    }

    [Fact]
    public void WeakEvent_LiveOwners_KeepReceivingAfterCollections()
    {
        var source = new TestSource();
        var owners = new List<Listener>();
        var tracker = new LeakTracker();
        for (var i = 0; i < 20; i++)
        {
            SubscribeHeldOwner(source, owners, tracker);
        }

        Assert.Equal(20, tracker.AliveCount());
        WeakLink.Registry.Purge();
        source.RaiseValued(3);

        Assert.Equal(20, source.ValuedCount);
        Assert.All(owners, static o => Assert.Single(o.Seen));
        GC.KeepAlive(source);
        GC.KeepAlive(owners);
    }

    [Fact]
    public void WeakEvent_HandlerCapturingOwner_DoesNotKeepOwnerAlive()
    {
        var source = new TestSource();
        var owner = SubscribeCapturingHandler(source);

        GcAssert.Collected(owner, "a handler that captures its owner is held through the owner, not the source");
        GC.KeepAlive(source);
    }

    [Fact]
    public void WeakEvent_HandlerCapturingLiveOwner_IsNotCollectedAndFires()
    {
        var source = new TestSource();
        var holder = new List<Listener>();
        var handler = SubscribeCapturingHandlerHeld(source, holder);

        GcAssert.NotCollected(handler, "the handler lives exactly as long as its owner");
        source.RaiseValued(9);

        Assert.Single(holder[0].Seen);
        GC.KeepAlive(source);
        GC.KeepAlive(holder);
    }

    [Fact]
    public async Task WeakEvent_Gen2Collection_PurgesOnThreadPoolAndDetachesDeadOwners()
    {
        var source = new TestSource();
        var tracker = new LeakTracker();
        var token = SubscribeDroppedOwner(source, tracker);
        Assert.Equal(1, source.ValuedCount);

        // Only collections run here: no subscribe (caller-thread purge) and no raise. Bounded in time, not in rounds:
        // the purge runs on the thread pool, which a loaded machine may not reach for a while.
        var elapsed = System.Diagnostics.Stopwatch.StartNew();
        while (source.ValuedCount != 0 && elapsed.Elapsed < TestTimeouts.Bound)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers();
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }

        Assert.True(source.ValuedCount == 0, "no purge after gen-2 collections detached the dead owner's forwarder");
        tracker.AssertAllCollected();
        GC.KeepAlive(token);
        GC.KeepAlive(source);
    }

    [Fact]
    public void WeakEvent_DeadOwner_DetachedWhenEventFires()
    {
        var source = new TestSource();
        var tracker = new LeakTracker();
        var link = (WeakLink)SubscribeDroppedOwner(source, tracker);
        tracker.AssertAllCollected();

        source.RaiseValued(1);

        // Claimed by the raise, or by a gen-2 purge on the thread pool that got there first and may still be removing it.
        Assert.True(link.IsDetached);
        Assert.True(SpinWait.SpinUntil(() => source.ValuedCount == 0, TimeSpan.FromSeconds(30)), "still attached");
        GC.KeepAlive(source);
    }

    [Fact]
    public void WeakEvent_SourceDropped_IsCollectedWhileOwnerLives()
    {
        var owner = new Listener();
        var holder = new List<Subscription>();
        var source = SubscribeDroppedSource(owner, holder);

        GcAssert.Collected(source, "the forwarder and its token hold the source weakly");
        WeakLink.Registry.Purge();
        holder[0].Dispose();
        GC.KeepAlive(owner);
    }

    [Fact]
    public void WeakEvent_SourceHeld_StaysAliveAndAttached()
    {
        var owner = new Listener();
        var holder = new List<object>();
        var source = SubscribeHeldSource(owner, holder);

        GcAssert.NotCollected(source, "the test holds the source");
        ((TestSource)holder[0]).RaiseValued(4);
        Assert.Single(owner.Seen);
        GC.KeepAlive(holder);
        GC.KeepAlive(owner);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Subscription SubscribeDroppedOwner(TestSource source, LeakTracker tracker)
    {
        var owner = new Listener();
        tracker.Track(owner);
        return Subscribe.WeakEvent<TestSource, Listener, int>(
            source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, owner, static (o, _, v) => o.Seen.Add((null, v)));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SubscribeHeldOwner(TestSource source, List<Listener> owners, LeakTracker tracker)
    {
        var owner = new Listener();
        owners.Add(owner);
        tracker.Track(owner);
        Subscribe.WeakEvent<TestSource, Listener, int>(
            source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, owner, static (o, _, v) => o.Seen.Add((null, v)));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference SubscribeCapturingHandler(TestSource source)
    {
        var owner = new Listener();
        Subscribe.WeakEvent<TestSource, Listener, int>(
            source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, owner, (_, _, v) => owner.Seen.Add((null, v)));
        return new WeakReference(owner);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference SubscribeCapturingHandlerHeld(TestSource source, List<Listener> holder)
    {
        var owner = new Listener();
        holder.Add(owner);
        Action<Listener, object?, int> handler = (_, _, v) => owner.Seen.Add((null, v));
        Subscribe.WeakEvent(source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, owner, handler);
        return new WeakReference(handler);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference SubscribeDroppedSource(Listener owner, List<Subscription> holder)
    {
        var source = new TestSource();
        holder.Add(Subscribe.WeakEvent<TestSource, Listener, int>(
            source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, owner, static (o, _, v) => o.Seen.Add((null, v))));
        return new WeakReference(source);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference SubscribeHeldSource(Listener owner, List<object> holder)
    {
        var source = new TestSource();
        holder.Add(source);
        holder.Add(Subscribe.WeakEvent<TestSource, Listener, int>(
            source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, owner, static (o, _, v) => o.Seen.Add((null, v))));
        return new WeakReference(source);
    }
}
