using System.Runtime.CompilerServices;
using SafeRefs.Events;
using SafeRefs.Events.Internal;
using SafeRefs.Subscriptions;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events.Internal;

/// <summary>
/// When an entry's GC handles are freed: by whoever detaches it, at once when it is disposed, removed or purged (a
/// <c>Subscribe</c> entry's after the invocation running at that moment, if any); never read after that; and, for
/// entries still registered when the event is collected, by the list's releaser. An <c>Add</c> entry's handle is
/// never read at all (a raise reads the delegate through a <see cref="WeakReference{T}"/>), so a raise in progress
/// does not hold it back.
/// </summary>
[Collection(GcCollection.Name)]
public sealed class WeakHandlerListHandleTests
{
    [Fact]
    public void Dispose_NoRaiseInProgress_FreesTheHandlesAtOnce()
    {
        var source = new WeakEvent<int>();
        var owner = new Target();
        var plain = source.Subscribe(owner, static (o, _, _) => o.Calls++);
        var capturing = source.Subscribe(owner, (o, _, _) => o.Calls += source.StoredCount);
        var plainEntry = EntryOf(plain);
        var capturingEntry = EntryOf(capturing);

        plain.Dispose();
        capturing.Dispose();

        Assert.True(plainEntry.IsFreed);
        Assert.True(capturingEntry.IsFreed);
        Assert.Equal(0, source.StoredCount);
        source.Raise(null, 1);
        Assert.Equal(0, owner.Calls);
        GC.KeepAlive(owner);
    }

    [Fact]
    public void Dispose_Control_ALiveSubscriptionKeepsItsHandles()
    {
        var source = new WeakEvent<int>();
        var owner = new Target();
        using var token = source.Subscribe(owner, static (o, _, _) => o.Calls++);
        source.Raise(null, 1);
        Assert.False(EntryOf(token).IsFreed);
        Assert.Equal(1, owner.Calls);
        GC.KeepAlive(owner);
    }

    [Fact]
    public void Remove_NoRaiseInProgress_FreesTheHandlesAtOnce()
    {
        var source = new WeakEvent<int>();
        var target = new Target();
        source.Add(target.On);
        var entry = source.Handlers.Snapshot.Single().Entry;

        source.Remove(target.On);

        Assert.True(entry.IsFreed);
        Assert.Equal(0, source.StoredCount);
        GC.KeepAlive(target);
    }

    // A non-capturing lambda written in a generic method lives in that method's generic singleton ("<>c__N`1"): it is
    // rooted anyway, so Add keeps it strongly (no handles). A capturing one there is a display class: still refused.
    [Fact]
    public void Add_StaticLambdaInAGenericMethod_GetsTheStrongEntry()
    {
        var source = new WeakEvent<int>();
        source.Add(StaticLambdaInGenericMethod<string>());

        Assert.IsType<StrongHandlerEntry>(source.Handlers.Snapshot.Single().Entry);
    }

    [Fact]
    public void Add_CapturingLambdaInAGenericMethod_IsRefused()
    {
        var source = new WeakEvent<int>();
        var ex = Assert.Throws<ArgumentException>(() => source.Add(CapturingLambdaInGenericMethod(new Target())));

        Assert.Equal("handler", ex.ParamName);
        Assert.Equal(0, source.StoredCount);
    }

    // One raise, on this thread: the first handler disposes a token and removes an Add handler later in the snapshot.
    // Both leave the snapshot and are freed at once. The disposed Subscribe entry is gated: the raise skips it. The
    // removed Add handler follows multicast rules: the raise still calls it (its delegate is alive here), reading it
    // through its weak reference, not through the handle that was freed.
    [Fact]
    public void DisposeAndRemove_DuringARaise_FreeBothAtOnce_TheRaiseStillCallsTheAddHandler()
    {
        var source = new WeakEvent<int>();
        var target = new Target();
        var disposedOwner = new Target();
        EventHandler<int> added = target.On;
        Subscription? disposed = null;
        WeakHandlerEntry? disposedEntry = null;
        WeakHandlerEntry? removedEntry = null;
        var seenInside = (DisposedFreed: false, RemovedFreed: false);
        using var first = source.Subscribe(target, (t, _, _) =>
        {
            disposed!.Dispose();
            source.Remove(added);
            seenInside = (disposedEntry!.IsFreed, removedEntry!.IsFreed);
        });
        disposed = source.Subscribe(disposedOwner, static (o, _, _) => o.Calls++);
        source.Add(added);
        disposedEntry = EntryOf(disposed);
        removedEntry = source.Handlers.Snapshot[2].Entry;

        source.Raise(null, 1);

        Assert.Equal((true, true), seenInside);
        Assert.Equal(0, disposedOwner.Calls);
        Assert.Equal(1, target.Calls); // removed during the raise, after the raise took its snapshot: still called
        source.Raise(null, 2);
        Assert.Equal(1, target.Calls);
        GC.KeepAlive(disposedOwner);
        GC.KeepAlive(added);
    }

    // Across threads: a raise held inside its first handler on another thread, while this thread disposes the token of
    // a handler that the held raise has yet to reach. Its handles are freed by Dispose, not by the end of the raise (nor
    // by the next one); the held raise then skips it without reading them (in Debug a read of a freed handle fails an
    // assertion).
    [Fact]
    public async Task Dispose_WhileARaiseOnAnotherThreadIsInProgress_FreesTheGatedEntryAtDispose()
    {
        var source = new WeakEvent<int>();
        var blocker = new Blocker();
        var owner = new Target();
        using var first = source.Subscribe(blocker, static (b, _, _) => b.Block());
        var token = source.Subscribe(owner, static (o, _, _) => o.Calls++);
        var entry = EntryOf(token);
        var raising = Task.Factory.StartNew(() => source.Raise(null, 1), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        blocker.Entered.WaitBounded();

        token.Dispose();
        var freedAtDispose = entry.IsFreed;
        blocker.Release.Set();
        await raising.Bounded();

        Assert.True(freedAtDispose, "a disposed Subscribe entry's handles waited for the raise in progress");
        Assert.Equal(0, owner.Calls);
        GC.KeepAlive(owner);
    }

    // Control twin: the same held raise with the token left alone calls the handler, and its handles stay.
    [Fact]
    public async Task Dispose_Control_WithoutDispose_TheHeldRaiseCallsTheHandler()
    {
        var source = new WeakEvent<int>();
        var blocker = new Blocker();
        var owner = new Target();
        using var first = source.Subscribe(blocker, static (b, _, _) => b.Block());
        using var token = source.Subscribe(owner, static (o, _, _) => o.Calls++);
        var raising = Task.Factory.StartNew(() => source.Raise(null, 1), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        blocker.Entered.WaitBounded();
        blocker.Release.Set();
        await raising.Bounded();

        Assert.False(EntryOf(token).IsFreed);
        Assert.Equal(1, owner.Calls);
        GC.KeepAlive(owner);
    }

    // The same across threads: a raise held inside a handler on another thread while this thread removes an Add
    // handler that the held raise has yet to reach. Remove frees its handle at once, without waiting for the raise;
    // the raise still calls the handler (its delegate is alive here) through its weak reference.
    [Fact]
    public async Task Remove_WhileARaiseOnAnotherThreadIsInProgress_FreesAtOnce_TheRaiseStillCallsIt()
    {
        var source = new WeakEvent<int>();
        var blocker = new Blocker();
        var target = new Target();
        EventHandler<int> added = target.On;
        using var first = source.Subscribe(blocker, static (b, _, _) => b.Block());
        source.Add(added);
        var entry = source.Handlers.Snapshot[1].Entry;
        var raising = Task.Factory.StartNew(() => source.Raise(null, 1), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        blocker.Entered.WaitBounded();

        source.Remove(added);
        var freedWhileRaising = entry.IsFreed;
        blocker.Release.Set();
        await raising.Bounded();

        Assert.True(freedWhileRaising, "a removed Add handler's handle waited for the raise in progress");
        Assert.Equal(1, target.Calls);
        GC.KeepAlive(target);
        GC.KeepAlive(added);
    }

    // Remove makes the removed delegate collectable while its target lives, even while a raise that still holds the
    // older snapshot is in progress on another thread (the raise then skips it). With the handle freed only after the
    // raise, the delegate would stay reachable through target → delegate until the raise ends.
    [Fact]
    public async Task Remove_WhileARaiseIsInProgress_TheRemovedDelegateIsCollectedAndSkipped()
    {
        var (source, blocker, target, raising, removed) = StartHeldRaise(remove: true);

        GcAssert.Collected(removed, "a removed Add handler's delegate is kept alive while a raise runs");
        blocker.Release.Set();
        await raising.Bounded();

        Assert.Equal(0, target.Calls);
        Assert.Equal(1, source.Count);
        GC.KeepAlive(target);
    }

    // Control twin: the same held raise without the Remove: the target keeps the delegate alive and the raise calls it.
    [Fact]
    public async Task Remove_Control_WithoutRemove_TheDelegateLivesWithItsTargetAndIsCalled()
    {
        var (source, blocker, target, raising, kept) = StartHeldRaise(remove: false);

        GcAssert.NotCollected(kept);
        blocker.Release.Set();
        await raising.Bounded();

        Assert.Equal(1, target.Calls);
        Assert.Equal(2, source.Count);
        GC.KeepAlive(target);
    }

    // An Add handler removed while the first handler of an async raise awaits is freed at once, and the raise then
    // skips it (the entry's closed flag).
    [Fact]
    public async Task AsyncRaise_HandlerRemovedWhileAnotherAwaits_IsFreedAtOnceAndSkipped()
    {
        var source = new AsyncWeakEvent<int>();
        var gate = new AsyncBlocker();
        var target = new Target();
        using var first = source.Subscribe(gate, static (g, _, _, _) => g.WaitAsync());
        source.Add(target.OnAsync);
        var entry = source.Handlers.Snapshot[1].Entry;
        var raising = source.RaiseAsync(null, 1).AsTask();
        await gate.Entered.Task.Bounded();

        source.Remove(target.OnAsync);
        Assert.True(entry.IsFreed);
        gate.Release.SetResult();
        await raising.Bounded();

        Assert.Equal(0, target.Calls);
        GC.KeepAlive(target);
    }

    // An entry the budget refuses is never published; its creator frees its handles at once. Had they stayed allocated,
    // the ephemeron owner → handler (Subscribe) or target → delegate (Add) would keep the handler alive with the owner.
    [Fact]
    public void SubscribeAndAdd_RefusedByTheBudget_FreeTheEntrysHandles()
    {
        var (source, owner) = CreateBudgetedEvent(maxListeners: 1);
        var refused = TryAttach(source, owner);

        Assert.Equal(1, source.Count);
        GcAssert.Collected(refused.Handler, "a refused Subscribe frees the dependent handle owner → handler");
        GcAssert.Collected(refused.Delegate, "a refused Add frees the dependent handle target → delegate");
        GC.KeepAlive(owner);
        GC.KeepAlive(source);
    }

    // Control twin: the same handlers, accepted, live as long as the owner.
    [Fact]
    public void SubscribeAndAdd_Control_AcceptedEntriesKeepTheirHandlers()
    {
        var (source, owner) = CreateBudgetedEvent(maxListeners: 3);
        var accepted = TryAttach(source, owner);

        Assert.Equal(3, source.Count);
        GcAssert.NotCollected(accepted.Handler);
        GcAssert.NotCollected(accepted.Delegate);
        GC.KeepAlive(owner);
        GC.KeepAlive(source);
    }

    // A multicast Add whose second part the budget refuses adds no part (all or nothing): the counted part gives its
    // place back and each part's handle is freed once (a second free failed the debug check). Control: with room for
    // every part, all are added.
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Add_MulticastRefusedByTheBudgetMidway_AddsNoPart_FreesEachPartOnce(int maxListeners)
    {
        var budget = new ListenerBudget(maxListeners) { OnExceeded = ListenerBudgetAction.Throw };
        var source = new WeakEvent<int>(new WeakEventOptions { Budget = budget, Name = "E" });
        var (a, b, c) = (new Target(), new Target(), new Target());
        EventHandler<int> multicast = a.On;
        multicast += b.On;
        multicast += c.On;

        var refused = Record.Exception(() => source.Add(multicast));

        var fits = maxListeners == 3;
        Assert.Equal(fits, refused is null);
        Assert.Equal(fits ? 3 : 0, source.Count);
        Assert.Equal(fits ? 3 : 0, budget.Count(source, "E"));
        Assert.All(source.Handlers.Snapshot, item => Assert.False(item.Entry.IsFreed));
        source.Raise(null, 1);
        Assert.Equal(fits ? (1, 1, 1) : (0, 0, 0), (a.Calls, b.Calls, c.Calls));
        GC.KeepAlive((a, b, c));
    }

    [Fact]
    public void Purge_DeadEntries_FreesTheirHandles()
    {
        var source = new WeakEvent<int>();
        var entries = AddDroppedTargets(source, 6);
        GcAssert.FullCollect();

        source.Handlers.Purge();

        Assert.All(entries, static e => Assert.True(e.IsFreed));
        Assert.Equal(0, source.StoredCount);
    }

    // The releaser frees, after two finalization passes, the handles of every entry still registered in an event that
    // was dropped with its handlers (the usual end of an event). Entries hold no reference to their list.
    [Fact]
    public void CollectedEvent_ItsRemainingEntriesAreFreed()
    {
        var root = new List<object>();
        var (source, entries) = CreateEventWithEntries(root);
        var freed = SpinWait.SpinUntil(
            () =>
            {
                GcAssert.FullCollect();
                return entries.All(static e => e.IsFreed);
            },
            TimeSpan.FromSeconds(30));

        Assert.True(freed, "the entries of a collected event keep their handles");
        Assert.False(source.IsAlive);
        GC.KeepAlive(root);
    }

    [Fact]
    public void CollectedEvent_ControlTwin_ALiveEventKeepsItsEntriesHandles()
    {
        var root = new List<object>();
        var (source, entries) = CreateEventWithEntries(root);
        var strong = source.Target;
        GcAssert.FullCollect();
        GcAssert.FullCollect();

        Assert.All(entries, static e => Assert.False(e.IsFreed));
        GC.KeepAlive(strong);
        GC.KeepAlive(root);
    }

    private static OwnerHandlerEntry EntryOf(Subscription token) => ((WeakHandlerSubscription)token).Entry;

    // A raise held in its first handler on another thread, with an Add handler of a live target after it; the Add's
    // delegate escapes only as a weak reference.
    private static (WeakEvent<int> Source, Blocker Blocker, Target Target, Task Raising, WeakReference Added) StartHeldRaise(bool remove)
    {
        var source = new WeakEvent<int>();
        var blocker = new Blocker();
        var target = new Target();
        _ = source.Subscribe(blocker, static (b, _, _) => b.Block());
        var added = AddAndMaybeRemoveWhileHeld(source, blocker, target, remove, out var raising);
        return (source, blocker, target, raising, added);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference AddAndMaybeRemoveWhileHeld(WeakEvent<int> source, Blocker blocker, Target target, bool remove, out Task raising)
    {
        EventHandler<int> added = target.On;
        source.Add(added);
        raising = Task.Factory.StartNew(() => source.Raise(null, 1), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        blocker.Entered.WaitBounded();
        if (remove)
        {
            source.Remove(added);
        }

        return new WeakReference(added);
    }

    private static (WeakEvent<int> Source, Target Owner) CreateBudgetedEvent(int maxListeners)
    {
        var budget = new ListenerBudget(maxListeners) { OnExceeded = ListenerBudgetAction.Throw };
        var source = new WeakEvent<int>(new WeakEventOptions { Budget = budget });
        var owner = new Target();
        source.Subscribe(owner, static (o, _, _) => o.Calls++);
        return (source, owner);
    }

    // A Subscribe with a capturing handler and an Add of a delegate whose target is the owner; only weak references escape.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (WeakReference Handler, WeakReference Delegate) TryAttach(WeakEvent<int> source, Target owner)
    {
        var captured = new object();
        Action<Target, object?, int> handler = (o, _, _) => o.Calls += captured.GetHashCode() & 0;
        EventHandler<int> added = owner.On;
        try
        {
            source.Subscribe(owner, handler);
        }
        catch (ListenerLimitExceededException)
        {
            // Refused: nothing attached.
        }

        try
        {
            source.Add(added);
        }
        catch (ListenerLimitExceededException)
        {
            // Refused: nothing attached.
        }

        return (new WeakReference(handler), new WeakReference(added));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<WeakHandlerEntry> AddDroppedTargets(WeakEvent<int> source, int count)
    {
        for (var i = 0; i < count; i++)
        {
            source.Add(new Target().On);
        }

        return source.Handlers.Snapshot.Select(static s => s.Entry).ToList();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (WeakReference Source, List<WeakHandlerEntry> Entries) CreateEventWithEntries(List<object> root)
    {
        var source = new WeakEvent<int>();
        var target = new Target();
        root.Add(target);
        source.Add(target.On);
        source.Subscribe(target, static (t, _, _) => t.Calls++);
        source.Subscribe(target, (t, _, _) => t.Calls += root.Count);
        var entries = source.Handlers.Snapshot.Select(static s => s.Entry).ToList();
        return (new WeakReference(source), entries);
    }

    private static EventHandler<int> StaticLambdaInGenericMethod<T>() => static (_, _) => { };

    private static EventHandler<int> CapturingLambdaInGenericMethod<T>(T captured) => (_, _) => GC.KeepAlive(captured);

    private sealed class Target
    {
        public int Calls { get; set; }

        public void On(object? sender, int e) => Calls++;

        public ValueTask OnAsync(object? sender, int e, CancellationToken cancellationToken)
        {
            Calls++;
            return ValueTask.CompletedTask;
        }
    }

    private sealed class Blocker
    {
        public ManualResetEventSlim Entered { get; } = new();

        public ManualResetEventSlim Release { get; } = new();

        public void Block()
        {
            Entered.Set();
            Release.WaitBounded();
        }
    }

    private sealed class AsyncBlocker
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask WaitAsync()
        {
            Entered.SetResult();
            await Release.Task;
        }
    }
}
