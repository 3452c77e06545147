using System.ComponentModel;
using System.Runtime.CompilerServices;
using SafeRefs.Events;
using SafeRefs.Internal;
using SafeRefs.Subscriptions;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Tests.Subscriptions;
using Listener = SafeRefs.Tests.Subscriptions.SubscribeWeakEventTests.Listener;

namespace SafeRefs.Tests.Internal;

/// <summary>
/// The shared slot registry behind <c>Subscribe.WeakEvent</c> and <c>WeakSubscriptions</c>: slots (and their GC
/// handles) are reused, so a stale forwarder must never reach the next link's owner, and a slot must be returned once.
/// Non-parallel: the free-list checks need no other test subscribing meanwhile.
/// </summary>
[Collection(GcCollection.Name)]
public sealed class WeakEventLinkRegistryTests
{
    private const int Threads = 4;
    private const int OperationsPerThread = 3_000;

    private static int _wrongOwner;

    [Fact]
    public void SlotCachedByADeadThread_GoesBackToTheFreeListAtTheNextPurge()
    {
        LinkSlot? cached = null;
        var thread = new Thread(() =>
        {
            SubscribeAndDispose();
            cached = WeakEventLinkRegistry.CachedSlotOfThisThread;
        });
        thread.Start();
        thread.Join();
        Assert.NotNull(cached);
        Assert.False(WeakEventLinkRegistry.IsOnFreeList(cached));

        WeakEventLinkRegistry.Purge();

        Assert.True(WeakEventLinkRegistry.IsOnFreeList(cached), "the dead thread's cached slot was not reclaimed");
        var (_, consistent) = WeakEventLinkRegistry.InspectFreeList();
        Assert.True(consistent, "a slot is on the free list twice, or cached and free at once");
    }

    [Fact]
    public void SlotCachedByALiveThread_StaysCachedAcrossPurges_AndServesItsNextSubscription()
    {
        SubscribeAndDispose();
        var cached = WeakEventLinkRegistry.CachedSlotOfThisThread;
        Assert.NotNull(cached);

        WeakEventLinkRegistry.Purge();

        Assert.Same(cached, WeakEventLinkRegistry.CachedSlotOfThisThread);
        Assert.False(WeakEventLinkRegistry.IsOnFreeList(cached));
        var source = new TestSource();
        using var token = Subscribe.WeakEvent<TestSource, Listener, int>(
            source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, new Listener(), static (o, _, v) => o.Seen.Add((null, v)));
        Assert.Same(cached, ((WeakEventLink)token.Slot0!).Slot);
        Assert.Null(WeakEventLinkRegistry.CachedSlotOfThisThread);
    }

    [Fact]
    public void DisposedLink_SlotReusedByNextSubscription_StaleForwarderInvokesNothing()
    {
        var source = new TestSource();
        var first = new Listener();
        var second = new Listener();
        EventHandler<int>? stale = null;
        var firstToken = Subscribe.WeakEvent<TestSource, Listener, int>(
            source, (s, h) => { stale = h; s.Valued += h; }, static (s, h) => s.Valued -= h, first, static (o, _, v) => o.Seen.Add((null, v)));
        var firstSlot = ((WeakEventLink)firstToken.Slot0!).Slot;
        firstToken.Dispose();

        using var secondToken = Subscribe.WeakEvent<TestSource, Listener, int>(
            source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, second, static (o, _, v) => o.Seen.Add((null, v)));
        Assert.Same(firstSlot, ((WeakEventLink)secondToken.Slot0!).Slot);

        // A raise that took the invocation list before the first Dispose still calls the first forwarder.
        stale!(source, 1);
        source.RaiseValued(2);

        Assert.Empty(first.Seen);
        Assert.Equal([(null, 2)], second.Seen);
        Assert.Equal(1, source.ValuedCount);
    }

    [Fact]
    public async Task ConcurrentSubscribeDisposeRaisePurge_WithDyingOwners_EveryHandlerGetsItsOwnAndSlotsReturnOnce()
    {
        var sources = Enumerable.Range(0, Threads).Select(static _ => new TestSource()).ToArray();
        Volatile.Write(ref _wrongOwner, 0);
        using var barrier = new Barrier(Threads + 1);
        using var done = new CancellationTokenSource();
        var raiser = Task.Run(() =>
        {
            barrier.SignalAndWait();
            var round = 0;
            while (!done.IsCancellationRequested)
            {
                foreach (var source in sources)
                {
                    source.RaiseValued(source.GetHashCode());
                }

                WeakEventLinkRegistry.Purge();
                if (++round % 64 == 0)
                {
                    GC.Collect();
                }
            }
        });
        var kept = new List<Subscription>[Threads];
        var tasks = Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            var random = new Random(t);
            var mine = new List<Subscription>();
            var owners = new List<OwnedListener>();
            barrier.SignalAndWait();
            for (var op = 0; op < OperationsPerThread; op++)
            {
                var source = sources[random.Next(sources.Length)];
                switch (random.Next(4))
                {
                    case 0 or 1:
                        var owner = new OwnedListener(source.GetHashCode());
                        if (random.Next(2) == 0)
                        {
                            owners.Add(owner); // otherwise the owner dies and a raise or purge detaches it
                        }

                        // A static handler reaches its owner through the slot's reused weak handle; a capturing one
                        // through its own dependent handle: both must get the owner they were subscribed with.
                        Action<OwnedListener, object?, int> handler = random.Next(2) == 0
                            ? static (o, _, v) => CheckOwner(o, v)
                            : (o, _, v) => CheckOwner(o, v + t - t);
                        mine.Add(Subscribe.WeakEvent(
                            source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, owner, handler));
                        break;
                    case 2 when mine.Count > 0:
                        var i = random.Next(mine.Count);
                        mine[i].Dispose();
                        mine[i] = mine[^1];
                        mine.RemoveAt(mine.Count - 1);
                        break;
                    default:
                        source.RaiseValued(source.GetHashCode());
                        break;
                }
            }

            kept[t] = mine;
            GC.KeepAlive(owners);
        })).ToArray();
        await Task.WhenAll(tasks);
        await done.CancelAsync();
        await raiser;

        Assert.True(Volatile.Read(ref _wrongOwner) == 0, $"{Volatile.Read(ref _wrongOwner)} handler calls got another subscription's owner");
        foreach (var token in kept.SelectMany(static k => k))
        {
            token.Dispose();
        }

        Assert.True(sources.All(static s => s.ValuedCount == 0), "a forwarder is still attached after every token was disposed");
        var (free, consistent) = WeakEventLinkRegistry.InspectFreeList();
        Assert.True(consistent, "a slot is on the free list twice, or free while still registered");
        Assert.True(free > 0, "no slot was returned");
    }

    [Fact]
    public void BackgroundPurge_SkipsWeakSubscriptionsLinks_CallerThreadPurgeDetachesThem()
    {
        var model = new Model();
        var source = new TestSource();
        var tracker = new LeakTracker();
        SubscribeDroppedOwners(model, source, tracker);
        tracker.AssertAllCollected();

        WeakEventLinkRegistry.PurgeInBackgroundMode();
        Assert.Equal(0, source.ValuedCount);
        Assert.Equal(1, model.HandlerCount);

        WeakEventLinkRegistry.Purge();
        Assert.Equal(0, model.HandlerCount);
        GC.KeepAlive(model);
        GC.KeepAlive(source);
    }

    [Fact]
    public void BackgroundPurge_LiveOwners_ControlTwin_DetachesNothing()
    {
        var model = new Model();
        var source = new TestSource();
        var owner = new Listener();
        using var a = WeakSubscriptions.OnPropertyChanged(model, owner, static (o, _, _) => o.Seen.Add((null, 0)));
        using var b = Subscribe.WeakEvent<TestSource, Listener, int>(
            source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, owner, static (o, _, v) => o.Seen.Add((null, v)));

        WeakEventLinkRegistry.PurgeInBackgroundMode();
        WeakEventLinkRegistry.Purge();

        Assert.Equal(1, model.HandlerCount);
        Assert.Equal(1, source.ValuedCount);
        GC.KeepAlive(owner);
    }

    private static void CheckOwner(OwnedListener owner, int sourceId)
    {
        if (owner.SourceId != sourceId)
        {
            Interlocked.Increment(ref _wrongOwner);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SubscribeDroppedOwners(Model model, TestSource source, LeakTracker tracker)
    {
        var first = new Listener();
        var second = new Listener();
        tracker.Track(first);
        tracker.Track(second);
        WeakSubscriptions.OnPropertyChanged(model, first, static (o, _, _) => o.Seen.Add((null, 0)));
        Subscribe.WeakEvent<TestSource, Listener, int>(
            source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, second, static (o, _, v) => o.Seen.Add((null, v)));
    }

    private sealed class OwnedListener(int sourceId)
    {
        public int SourceId { get; } = sourceId;
    }

    private sealed class Model : INotifyPropertyChanged
    {
        public event PropertyChangedEventHandler? PropertyChanged;

        public int HandlerCount => PropertyChanged?.GetInvocationList().Length ?? 0;

        public void Raise(string name) => PropertyChanged?.Invoke(this, new PropertyChangedEventArgs(name));
    }

    private static void SubscribeAndDispose()
    {
        var source = new TestSource();
        var listener = new Listener();
        Subscribe.WeakEvent<TestSource, Listener, int>(
            source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, listener, static (o, _, v) => o.Seen.Add((null, v))).Dispose();
        Assert.Equal(0, source.ValuedCount);
    }
}
