using System.Runtime.CompilerServices;
using SafeRefs.Events;
using SafeRefs.Subscriptions;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

/// <summary>Disposal of weak-event tokens: waiting for running handlers, and entries that die with finalizable owners.</summary>
[Collection(GcCollection.Name)]
public sealed class WeakEventDisposeTests
{
    private static int _finalizerRaises;

    // A disposed token that is kept holds neither the handler list nor the event (Subscription: "until it is disposed,
    // then nothing"); it used to hold the list, whose snapshot sink is the event.
    [Fact]
    public void WeakEvent_DisposedTokenKept_EventCollected()
    {
        var (token, source) = SubscribeToDroppedEvent(dispose: true);
        GcAssert.Collected(source, "a disposed Subscribe token keeps its weak event alive");
        GC.KeepAlive(token);
    }

    // Control twin: until it is disposed, the token reaches the event (it must detach from it).
    [Fact]
    public void WeakEvent_Control_LiveTokenKept_EventNotCollected()
    {
        var (token, source) = SubscribeToDroppedEvent(dispose: false);
        GcAssert.NotCollected(source);
        Assert.True(token.IsActive);
        GC.KeepAlive(token);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Subscription Token, WeakReference Source) SubscribeToDroppedEvent(bool dispose)
    {
        var source = new WeakEvent<int>();
        var owner = new object();
        var token = source.Subscribe(owner, static (_, _, _) => { });
        source.Raise(null, 1);
        if (dispose)
        {
            token.Dispose();
        }

        GC.KeepAlive(owner);
        return (token, new WeakReference(source));
    }

    [Fact]
    public async Task WeakEvent_DisposeThenDisposeAsync_WaitsForRunningHandler()
    {
        var source = new WeakEvent<int>();
        var owner = new object();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var token = source.Subscribe(owner, (_, _, _) =>
        {
            entered.Set();
            release.WaitBounded();
        });
        var raising = Task.Run(() => source.Raise(null, 1));
        entered.WaitBounded();

        token.Dispose();
        var waiting = token.DisposeAsync().AsTask();
        Assert.False(waiting.IsCompleted, "DisposeAsync must wait for the running handler");
        release.Set();
        await waiting.Bounded();
        await raising.Bounded();
        source.Raise(null, 2);
        GC.KeepAlive(owner);
    }

    [Fact]
    public async Task AsyncWeakEvent_DisposeAsync_WaitsForTheHandlersTask()
    {
        var source = new AsyncWeakEvent<int>();
        var owner = new object();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var token = source.Subscribe(owner, async (_, _, _, _) =>
        {
            entered.SetResult();
            await release.Task;
        });
        var raising = source.RaiseAsync(null, 1).AsTask();
        await entered.Task.Bounded();

        var waiting = token.DisposeAsync().AsTask();
        Assert.False(waiting.IsCompleted, "DisposeAsync must wait until the async handler's task completes");
        release.SetResult();
        await waiting.Bounded();
        await raising.Bounded();
        GC.KeepAlive(owner);
    }

    [Fact]
    public async Task WeakDelegateEvent_DisposeAsync_IdleHandler_CompletesAtOnce()
    {
        var source = new WeakDelegateEvent<EventHandler>();
        var owner = new object();
        var token = source.Subscribe(owner, static (_, _) => { });
        source.Raise(null, EventArgs.Empty);
        var disposing = token.DisposeAsync();
        Assert.True(disposing.IsCompletedSuccessfully);
        await disposing.Bounded();
        GC.KeepAlive(owner);
    }

    [Fact]
    public void FinalizableOwner_DyingWithItsEvent_RaisesAndDisposesFromItsFinalizerSafely()
    {
        var before = Volatile.Read(ref _finalizerRaises);
        for (var i = 0; i < 20; i++)
        {
            CreateFinalizableOwners(50);
            GcAssert.FullCollect();
        }

        GcAssert.FullCollect();
        Assert.True(Volatile.Read(ref _finalizerRaises) - before > 0, "no finalizer ran");
    }

    [Fact]
    public void FinalizableOwner_ControlTwin_RootedOwnersAreNotFinalizedAndStillFire()
    {
        var root = new List<FinalizableOwner>();
        CreateFinalizableOwners(50, root);
        GcAssert.FullCollect();
        foreach (var owner in root)
        {
            owner.Raise();
            Assert.Equal(1, owner.Calls);
        }

        GC.KeepAlive(root);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CreateFinalizableOwners(int count, List<FinalizableOwner>? root = null)
    {
        for (var i = 0; i < count; i++)
        {
            var owner = new FinalizableOwner();
            root?.Add(owner);
        }
    }

    /// <summary>
    /// Owns a weak event and a token of its own subscription to it; its finalizer raises the event and disposes the
    /// token, reading the entries' handles in the same finalization pass as the entries themselves.
    /// </summary>
    private sealed class FinalizableOwner
    {
        private readonly WeakEvent<int> _changed = new();
        private readonly WeakDelegateEvent<EventHandler> _plain = new();
        private readonly Subscription _token;
        private readonly Subscription _plainToken;

        public FinalizableOwner()
        {
            _token = _changed.Subscribe(this, (o, _, _) => o.Calls++);
            _plainToken = _plain.Subscribe(this, (_, _) => Calls += 0);
            _changed.Add(OnChanged);
        }

        ~FinalizableOwner()
        {
            _changed.Raise(null, 1);
            _plain.Raise(null, EventArgs.Empty);
            _token.Dispose();
            _plainToken.Dispose();
            Interlocked.Increment(ref _finalizerRaises);
        }

        public int Calls { get; set; }

        public void Raise() => _changed.Raise(null, 0);

        private void OnChanged(object? sender, int value) => GC.KeepAlive(this);
    }
}
