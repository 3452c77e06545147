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
    // Both leave the snapshot at once, but their handles wait for the raise, which still reads the removed Add handler
    // (multicast rules) and must not start the disposed one.
    [Fact]
    public void DisposeAndRemove_DuringARaise_FreeTheHandlesWhenTheRaiseEnds()
    {
        var source = new WeakEvent<int>();
        var target = new Target();
        var disposedOwner = new Target();
        Subscription? disposed = null;
        WeakHandlerEntry? disposedEntry = null;
        WeakHandlerEntry? removedEntry = null;
        var seenInside = (Freed: true, Retired: -1, Raises: -1);
        using var first = source.Subscribe(target, (t, _, _) =>
        {
            disposed!.Dispose();
            source.Remove(t.On);
            var list = source.Handlers;
            seenInside = (disposedEntry!.IsFreed || removedEntry!.IsFreed, list.RetiredCount, list.RaisesInProgress);
        });
        disposed = source.Subscribe(disposedOwner, static (o, _, _) => o.Calls++);
        source.Add(target.On);
        disposedEntry = EntryOf(disposed);
        removedEntry = source.Handlers.Snapshot[2].Entry;

        source.Raise(null, 1);

        Assert.Equal((false, 2, 1), seenInside);
        Assert.Equal(0, disposedOwner.Calls);
        Assert.Equal(1, target.Calls); // removed during the raise, after the raise took its snapshot: still called
        Assert.True(disposedEntry.IsFreed);
        Assert.True(removedEntry.IsFreed);
        Assert.Equal(0, source.Handlers.RetiredCount);
        Assert.Equal(0, source.Handlers.RaisesInProgress);
        source.Raise(null, 2);
        Assert.Equal(1, target.Calls);
        GC.KeepAlive(disposedOwner);
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

    private static WeakHandlerEntry EntryOf(Subscription token) => (WeakHandlerEntry)token.Slot1!;

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
