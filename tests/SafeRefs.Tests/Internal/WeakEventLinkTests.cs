using System.Runtime.CompilerServices;
using SafeRefs.Internal;
using SafeRefs.Subscriptions;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Tests.Subscriptions;
using Listener = SafeRefs.Tests.Subscriptions.SubscribeWeakEventTests.Listener;

namespace SafeRefs.Tests.Internal;

/// <summary>
/// A weak link returns its slot as soon as it is detached, even while a raise or purge is still inside it: such a reader
/// must notice that the slot's handles may now be another link's (the slot's generation moved on) and drop what it read.
/// What the link owns itself (a capturing handler's dependent handle) is freed only once no reader is inside, and
/// <c>DisposeAsync</c> waits for that. The windows are hit deterministically through <see cref="WeakEventLink.AfterEnterHook"/>.
/// Non-parallel: the slot-reuse checks need this thread's slot cache to themselves.
/// </summary>
[Collection(GcCollection.Name)]
public sealed class WeakEventLinkTests
{
    [Fact]
    public void Raise_SlotTakenByAnotherLinkWhileInside_HandlerNeverGetsTheOtherOwner()
    {
        var sourceA = new TestSource();
        var sourceB = new TestSource();
        var ownerA = new Listener();
        var ownerB = new Listener();
        using var emptiesTheCache = SubscribeStatic(new TestSource(), new Listener());
        var tokenA = SubscribeStatic(sourceA, ownerA);
        Subscription? tokenB = null;
        try
        {
            WeakEventLink.AfterEnterHook = link =>
            {
                if (!ReferenceEquals(link, tokenA))
                {
                    return;
                }

                WeakEventLink.AfterEnterHook = null;
                tokenA.Dispose();
                tokenB = SubscribeStatic(sourceB, ownerB);
            };

            sourceA.RaiseValued(1);
        }
        finally
        {
            WeakEventLink.AfterEnterHook = null;
        }

        Assert.NotNull(tokenB);
        Assert.Same(((WeakEventLink)tokenA).Slot, ((WeakEventLink)tokenB).Slot);
        Assert.Empty(ownerB.Seen);
        Assert.Empty(ownerA.Seen);

        sourceB.RaiseValued(2);
        Assert.Equal([((object?)sourceB, 2)], ownerB.Seen);
        tokenB.Dispose();
        Assert.Equal(0, sourceA.ValuedCount);
        Assert.Equal(0, sourceB.ValuedCount);
    }

    [Fact]
    public void Purge_SlotTakenByALinkWithACollectedOwnerWhileInside_NeverRemovesFromTheOtherLinksSource()
    {
        var sourceA = new TestSource();
        var sourceB = new OtherSource();
        var ownerA = new Listener();
        var removesOffA = 0;
        var removesElsewhere = 0;
        var tokenA = Subscribe.WeakEvent<TestSource, Listener, int>(
            sourceA,
            static (s, h) => s.Valued += h,
            (s, h) =>
            {
                if (!ReferenceEquals(s, sourceA))
                {
                    removesElsewhere++;
                    return;
                }

                removesOffA++;
                s.Valued -= h;
            },
            ownerA,
            static (o, sender, v) => o.Seen.Add((sender, v)));
        Subscription? tokenB = null;
        Subscription? filler = null;
        WeakReference? ownerB = null;
        try
        {
            WeakEventLink.AfterEnterHook = link =>
            {
                if (!ReferenceEquals(link, tokenA))
                {
                    return;
                }

                WeakEventLink.AfterEnterHook = null;

                // The purge may have detached dead links before this one (their slots went to this thread's cache):
                // empty the cache, so that the second link takes the first one's slot.
                filler = SubscribeStatic(new TestSource(), new Listener());
                tokenA.Dispose();
                tokenB = SubscribeWithDroppedOwner(sourceB, out ownerB);
                GcAssert.Collected(ownerB, "only the slot's weak handle points at the second link's owner");
            };

            WeakEventLinkRegistry.Purge();
        }
        finally
        {
            WeakEventLink.AfterEnterHook = null;
            filler?.Dispose();
        }

        Assert.NotNull(tokenB);
        Assert.Same(((WeakEventLink)tokenA).Slot, ((WeakEventLink)tokenB).Slot);
        Assert.Equal(1, removesOffA);
        Assert.Equal(0, removesElsewhere);
        tokenB.Dispose();
        Assert.Equal(0, sourceB.Count);
        GC.KeepAlive(ownerA);
    }

    [Fact]
    public void Dispose_InsideACapturingHandler_FreesItsDependentHandleOnlyAfterTheHandlerReturns()
    {
        var source = new TestSource();
        var owner = new Listener();
        var holder = new StrongBox<Subscription>();
        bool? releasedInside = null;
        holder.Value = Subscribe.WeakEvent<TestSource, Listener, int>(
            source,
            static (s, h) => s.Valued += h,
            static (s, h) => s.Valued -= h,
            owner,
            (o, sender, v) =>
            {
                holder.Value!.Dispose();
                releasedInside = ((WeakEventLink)holder.Value).IsReleased;
                o.Seen.Add((sender, v));
            });
        var link = (WeakEventLink)holder.Value;
        Assert.False(link.IsReleased);

        source.RaiseValued(1);

        Assert.False(releasedInside);
        Assert.True(link.IsDetached);
        Assert.True(link.IsReleased);
        Assert.Single(owner.Seen);
        Assert.Equal(0, source.ValuedCount);
    }

    [Fact]
    public async Task DisposeAsync_StaticHandlerRunning_CompletesOnlyAfterItReturns()
    {
        var source = new TestSource();
        var owner = new BlockingListener();
        var subscription = Subscribe.WeakEvent<TestSource, BlockingListener, int>(
            source,
            static (s, h) => s.Valued += h,
            static (s, h) => s.Valued -= h,
            owner,
            static (o, _, _) => o.Block());

        var raising = Task.Run(() => source.RaiseValued(1));
        await owner.Entered.Task;
        var disposing = subscription.DisposeAsync().AsTask();
        Assert.Equal(0, source.ValuedCount);
        Assert.False(disposing.IsCompleted);

        owner.Release.SetResult();
        await disposing;
        Assert.True(owner.Finished);
        await raising;
    }

    [Fact]
    public void DisposeAsync_NoCallbackRunning_CompletesAtOnceWithoutAllocating()
    {
        var warmUp = SubscribeStatic(new TestSource(), new Listener());
        Assert.True(warmUp.DisposeAsync().AsTask().IsCompletedSuccessfully);
        var subscription = SubscribeStatic(new TestSource(), new Listener());

        var before = GC.GetAllocatedBytesForCurrentThread();
        var completed = subscription.DisposeAsync().AsTask().IsCompletedSuccessfully;
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(completed);
        Assert.Equal(0, allocated);
        Assert.False(subscription.IsActive);
    }

    [Fact]
    public void Dispose_RemoveAccessorThrows_PropagatesAndTheLinkStillLeavesTheRegistryAndReturnsItsSlot()
    {
        using var emptiesTheCache = SubscribeStatic(new TestSource(), new Listener());
        var source = new TestSource();
        var owner = new Listener();
        var token = Subscribe.WeakEvent<TestSource, Listener, int>(
            source, static (s, h) => s.Valued += h, static (_, _) => throw new InvalidOperationException("remove refused"), owner, static (o, sender, v) => o.Seen.Add((sender, v)));
        var link = (WeakEventLink)token;
        var slot = link.Slot;

        Assert.Throws<InvalidOperationException>(token.Dispose);

        Assert.True(link.IsDetached);
        Assert.Null(slot.Link);
        Assert.Same(slot, WeakEventLinkRegistry.CachedSlotOfThisThread);
        Assert.False(token.IsActive);

        // The forwarder is still on the source (its remove accessor refused), but a raise no longer reaches the owner.
        source.RaiseValued(1);
        Assert.Empty(owner.Seen);
        Assert.Equal(1, source.ValuedCount);
    }

    [Fact]
    public void Dispose_StaticHandler_SlotBackAtOnceAndNextSubscriptionTakesIt()
    {
        using var emptiesTheCache = SubscribeStatic(new TestSource(), new Listener());
        var first = SubscribeStatic(new TestSource(), new Listener());
        var slot = ((WeakEventLink)first).Slot;
        var generation = slot.Generation;
        first.Dispose();

        Assert.Same(slot, WeakEventLinkRegistry.CachedSlotOfThisThread);
        Assert.NotEqual(generation, slot.Generation);
        using var second = SubscribeStatic(new TestSource(), new Listener());
        Assert.Same(slot, ((WeakEventLink)second).Slot);
    }

    private static Subscription SubscribeStatic(TestSource source, Listener owner) =>
        Subscribe.WeakEvent<TestSource, Listener, int>(
            source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, owner, static (o, sender, v) => o.Seen.Add((sender, v)));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Subscription SubscribeWithDroppedOwner(OtherSource source, out WeakReference owner)
    {
        var listener = new Listener();
        owner = new WeakReference(listener);
        return Subscribe.WeakEvent<OtherSource, Listener, string>(
            source, static (s, h) => s.Named += h, static (s, h) => s.Named -= h, listener, static (o, _, _) => o.Seen.Add((null, -1)));
    }

    /// <summary>A source of another type, so that a remove accessor called with it would be a type confusion.</summary>
    private sealed class OtherSource
    {
        public event EventHandler<string>? Named;

        public int Count => Named?.GetInvocationList().Length ?? 0;
    }

    private sealed class BlockingListener
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Finished { get; private set; }

        public void Block()
        {
            Entered.SetResult();
            Release.Task.Wait();
            Finished = true;
        }
    }
}
