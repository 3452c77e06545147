using System.Runtime.CompilerServices;
using SafeRefs.Events;
using SafeRefs.Events.Internal;
using SafeRefs.Subscriptions;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events.Internal;

/// <summary>
/// When an entry's GC handles are freed: at once when it is disposed, removed or purged with no raise in progress;
/// only after the raises in progress when one is; never read after that; and, for entries still registered when the
/// event is collected, by the list's releaser.
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
        Assert.Equal(0, source.Handlers.RetiredCount);
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

    // One raise, on this thread: the first handler disposes a token and removes an Add handler later in the snapshot.
    // Both leave the snapshot at once. The disposed Subscribe entry is gated: nothing reads its handles unless admitted,
    // so they are freed by the Dispose itself. The removed Add handler is ungated (multicast rules): the raise still
    // reads and calls it, so its handles wait for the raise.
    [Fact]
    public void DisposeAndRemove_DuringARaise_FreeTheGatedEntryAtOnce_TheAddHandlerWhenTheRaiseEnds()
    {
        var source = new WeakEvent<int>();
        var target = new Target();
        var disposedOwner = new Target();
        Subscription? disposed = null;
        WeakHandlerEntry? disposedEntry = null;
        WeakHandlerEntry? removedEntry = null;
        var seenInside = (DisposedFreed: false, RemovedFreed: true, Retired: -1, Raises: -1);
        using var first = source.Subscribe(target, (t, _, _) =>
        {
            disposed!.Dispose();
            source.Remove(t.On);
            var list = source.Handlers;
            seenInside = (disposedEntry!.IsFreed, removedEntry!.IsFreed, list.RetiredCount, list.RaisesInProgress);
        });
        disposed = source.Subscribe(disposedOwner, static (o, _, _) => o.Calls++);
        source.Add(target.On);
        disposedEntry = EntryOf(disposed);
        removedEntry = source.Handlers.Snapshot[2].Entry;

        source.Raise(null, 1);

        Assert.Equal((true, false, 1, 1), seenInside);
        Assert.Equal(0, disposedOwner.Calls);
        Assert.Equal(1, target.Calls); // removed during the raise, after the raise took its snapshot: still called
        Assert.True(removedEntry.IsFreed);
        Assert.Equal(0, source.Handlers.RetiredCount);
        Assert.Equal(0, source.Handlers.RaisesInProgress);
        source.Raise(null, 2);
        Assert.Equal(1, target.Calls);
        GC.KeepAlive(disposedOwner);
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
        blocker.Entered.Wait();

        token.Dispose();
        var freedAtDispose = entry.IsFreed;
        var raisesAtDispose = source.Handlers.RaisesInProgress;
        blocker.Release.Set();
        await raising;

        Assert.Equal(1, raisesAtDispose);
        Assert.True(freedAtDispose, "a disposed Subscribe entry's handles waited for the raise in progress");
        Assert.Equal(0, source.Handlers.RetiredCount);
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
        blocker.Entered.Wait();
        blocker.Release.Set();
        await raising;

        Assert.False(EntryOf(token).IsFreed);
        Assert.Equal(1, owner.Calls);
        GC.KeepAlive(owner);
    }

    // The epoch re-check: a raise reads the epoch, then (held by the hook) the epoch flips before it counts itself. It
    // must count itself in the new epoch: it loads its snapshot after the flip, so it cannot read the entry retired
    // before the flip, whose free waits only for the raise counted in the old epoch. Counted in the old epoch instead
    // (the re-check removed), it would hold that free back until it ends.
    [Fact]
    public async Task EnterRaise_EpochFlipsBetweenItsReadAndItsCount_TheRaiseDoesNotHoldBackTheRetiredEntry()
    {
        var source = new WeakEvent<int>();
        var relay = new Relay(2);
        using var first = source.Subscribe(relay, static (r, _, raise) => r.Hold(raise));
        var victim = new Victim();
        source.Add(victim.On);
        victim.Entry = source.Handlers.Snapshot[^1].Entry;
        var older = relay.Start(source, 0); // counted in epoch 0, held in its first handler
        var flipped = 0;
        source.Handlers.EpochReadHook = () =>
        {
            // On the second raise's thread, after it read epoch 0 and before it counts itself: retiring the victim
            // flips the epochs (the other epoch has no raise), and its free now waits for epoch 0.
            if (Interlocked.Exchange(ref flipped, 1) == 0)
            {
                source.Remove(victim.On);
            }
        };
        Task newer;
        try
        {
            newer = relay.Start(source, 1);
        }
        finally
        {
            source.Handlers.EpochReadHook = null;
        }

        Assert.Equal(1, flipped);
        Assert.False(victim.Entry!.IsFreed); // the older raise may still read it
        relay.Finish(0, older);
        var freedWhileTheNewerRuns = victim.Entry.IsFreed;
        relay.Finish(1, newer);
        await newer;

        Assert.True(freedWhileTheNewerRuns, "a raise that counted itself in the old epoch held back the retired entry");
        Assert.Equal(1, victim.Calls); // the older raise called it; the newer one never had it in its snapshot
        Assert.Equal(0, victim.CalledWhileFreed);
        Assert.Equal(0, source.Handlers.RaisesInProgress);
        GC.KeepAlive(victim);
    }

    // The same across threads: a raise held inside a handler on another thread while this thread removes an Add
    // handler that the held raise has yet to reach.
    [Fact]
    public async Task Remove_WhileARaiseOnAnotherThreadIsInProgress_FreesAfterThatRaise()
    {
        var source = new WeakEvent<int>();
        var blocker = new Blocker();
        var target = new Target();
        using var first = source.Subscribe(blocker, static (b, _, _) => b.Block());
        source.Add(target.On);
        var entry = source.Handlers.Snapshot[1].Entry;
        var raising = Task.Factory.StartNew(() => source.Raise(null, 1), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        blocker.Entered.Wait();

        source.Remove(target.On);
        var freedWhileRaising = entry.IsFreed;
        var retiredWhileRaising = source.Handlers.RetiredCount;
        blocker.Release.Set();
        await raising;

        Assert.False(freedWhileRaising);
        Assert.Equal(1, retiredWhileRaising);
        Assert.Equal(1, target.Calls);
        Assert.True(entry.IsFreed);
        Assert.Equal(0, source.Handlers.RetiredCount);
        GC.KeepAlive(target);
    }

    // An async raise is not counted across its awaits (it would hold back frees for as long as a handler awaits): an
    // Add handler removed while the first handler awaits is freed at once, and the raise then skips it without reading
    // its handles (in Debug a read of a freed handle fails an assertion).
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
        await gate.Entered.Task;

        source.Remove(target.OnAsync);
        Assert.True(entry.IsFreed);
        gate.Release.SetResult();
        await raising;

        Assert.Equal(0, target.Calls);
        Assert.Equal(0, source.Handlers.RaisesInProgress);
        GC.KeepAlive(target);
    }

    // Raises that overlap without a gap (a relay: raise i+1 starts before raise i ends, each held in its first handler)
    // while one Add handler is removed per step. Each removed handler is still in the snapshots of the two raises in
    // progress, which still call it (multicast rules) and must not find its handles freed; the retired set stays bounded
    // although the raise count never drops to zero, and once the relay stops everything retired is freed.
    [Fact]
    public void Remove_WhileRaisesOverlapWithoutAGap_RetiredStayBoundedAndNoFreedHandleIsRead()
    {
        const int Steps = 24;
        var source = new WeakEvent<int>();
        var relay = new Relay(Steps + 1);
        using var first = source.Subscribe(relay, static (r, _, raise) => r.Hold(raise));
        var victims = new Victim[Steps];
        for (var i = 0; i < Steps; i++)
        {
            victims[i] = new Victim();
            source.Add(victims[i].On);
            victims[i].Entry = source.Handlers.Snapshot[^1].Entry;
        }

        var raises = new Task[Steps + 1];
        raises[0] = relay.Start(source, 0);
        var retired = new List<int>();
        for (var i = 0; i < Steps; i++)
        {
            raises[i + 1] = relay.Start(source, i + 1);
            source.Remove(victims[i].On);
            relay.Finish(i, raises[i]);
            retired.Add(source.Handlers.RetiredCount);
        }

        relay.Finish(Steps, raises[Steps]);

        Assert.All(victims, static v => Assert.Equal(0, v.CalledWhileFreed));
        // Raise k started before victim j was removed (at step j) for every k <= j + 1, so it still called it.
        Assert.Equal(Enumerable.Range(0, Steps).Select(static j => j + 2), victims.Select(static v => v.Calls));
        Assert.All(retired, static count => Assert.InRange(count, 0, 2));
        Assert.Equal(0, source.Handlers.RetiredCount);
        Assert.Equal(0, source.Handlers.RaisesInProgress);
        Assert.All(victims, static v => Assert.True(v.Entry!.IsFreed));
        GC.KeepAlive(victims);
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

    private static WeakHandlerEntry EntryOf(Subscription token) => (WeakHandlerEntry)token.Arg1!;

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

    private sealed class Victim
    {
        public WeakHandlerEntry? Entry { get; set; }

        public int Calls { get; private set; }

        public int CalledWhileFreed { get; private set; }

        // Raises run one at a time here (the relay releases one and waits for its end before the next step).
        public void On(object? sender, int raise)
        {
            Calls++;
            if (Entry!.IsFreed)
            {
                CalledWhileFreed++;
            }
        }
    }

    /// <summary>Runs raises on threads of their own, each held in its first handler until the test finishes it.</summary>
    private sealed class Relay(int raises)
    {
        private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
        private readonly ManualResetEventSlim[] _entered = NewEvents(raises);
        private readonly ManualResetEventSlim[] _release = NewEvents(raises);

        public void Hold(int raise)
        {
            _entered[raise].Set();
            Assert.True(_release[raise].Wait(Timeout), "a held raise was never finished");
        }

        public Task Start(WeakEvent<int> source, int raise)
        {
            var task = Task.Factory.StartNew(() => source.Raise(null, raise), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            Assert.True(_entered[raise].Wait(Timeout), "a raise never reached its first handler");
            return task;
        }

        public void Finish(int raise, Task task)
        {
            _release[raise].Set();
            Assert.True(task.Wait(Timeout), "a released raise did not end");
        }

        private static ManualResetEventSlim[] NewEvents(int count) =>
            Enumerable.Range(0, count).Select(static _ => new ManualResetEventSlim()).ToArray();
    }

    private sealed class Blocker
    {
        public ManualResetEventSlim Entered { get; } = new();

        public ManualResetEventSlim Release { get; } = new();

        public void Block()
        {
            Entered.Set();
            Release.Wait();
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
