using SafeRefs.Subscriptions;
using SafeRefs.Subscriptions.WeakLinks;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions;

public sealed class SubscribeWeakEventTests
{
    [Fact]
    public void WeakEvent_Raise_PassesOwnerSenderAndArgs()
    {
        var source = new TestSource();
        var owner = new Listener();
        using var subscription = Subscribe.WeakEvent<TestSource, Listener, int>(
            source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, owner, static (o, sender, value) => o.Seen.Add((sender, value)));

        source.RaiseValued(42);

        var (sender, value) = Assert.Single(owner.Seen);
        Assert.Same(source, sender);
        Assert.Equal(42, value);
        Assert.Equal(1, source.ValuedCount);
    }

    [Fact]
    public void WeakEvent_Dispose_DetachesFromSourceOnce()
    {
        var source = new TestSource();
        var owner = new Listener();
        var subscription = Subscribe.WeakEvent<TestSource, Listener, int>(
            source,
            static (s, h) => s.AddValued(h),
            static (s, h) => s.RemoveValued(h),
            owner,
            static (o, _, value) => o.Seen.Add((null, value)));

        subscription.Dispose();
        subscription.Dispose();
        source.RaiseValued(1);

        Assert.Equal(1, source.RemoveCalls);
        Assert.Equal(0, source.ValuedCount);
        Assert.Empty(owner.Seen);
        Assert.False(subscription.IsActive);
    }

    [Fact]
    public void WeakEvent_NullArguments_Throw()
    {
        var source = new TestSource();
        var owner = new Listener();
        Action<TestSource, EventHandler<int>> add = static (s, h) => s.Valued += h;
        Action<TestSource, EventHandler<int>> remove = static (s, h) => s.Valued -= h;
        Action<Listener, object?, int> handler = static (_, _, _) => { };
        Assert.Throws<ArgumentNullException>(() => Subscribe.WeakEvent(null!, add, remove, owner, handler));
        Assert.Throws<ArgumentNullException>(() => Subscribe.WeakEvent(source, null!, remove, owner, handler));
        Assert.Throws<ArgumentNullException>(() => Subscribe.WeakEvent(source, add, null!, owner, handler));
        Assert.Throws<ArgumentNullException>(() => Subscribe.WeakEvent<TestSource, Listener, int>(source, add, remove, null!, handler));
        Assert.Throws<ArgumentNullException>(() => Subscribe.WeakEvent(source, add, remove, owner, null!));
        Assert.Equal(0, source.ValuedCount);
    }

    [Fact]
    public void WeakEvent_AddThrows_Propagates()
    {
        var source = new TestSource();
        Assert.Throws<InvalidOperationException>(() => Subscribe.WeakEvent<TestSource, Listener, int>(
            source, static (_, _) => throw new InvalidOperationException("add failed"), static (s, h) => s.Valued -= h, new Listener(), static (_, _, _) => { }));
        Assert.Equal(0, source.ValuedCount);
    }

    [Fact]
    public void WeakEvent_DisposeInsideHandler_StopsFurtherCalls()
    {
        var source = new TestSource();
        var owner = new Listener();
        Subscription? subscription = null;
        subscription = Subscribe.WeakEvent<TestSource, Listener, int>(
            source,
            static (s, h) => s.Valued += h,
            static (s, h) => s.Valued -= h,
            owner,
            (o, _, value) =>
            {
                o.Seen.Add((null, value));
                subscription!.Dispose();
            });

        source.RaiseValued(1);
        source.RaiseValued(2);

        Assert.Single(owner.Seen);
        Assert.Equal(0, source.ValuedCount);
    }

    [Fact]
    public async Task WeakEvent_DisposeAsync_WaitsForRunningHandler()
    {
        var source = new TestSource();
        var owner = new Listener();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = Subscribe.WeakEvent<TestSource, Listener, int>(
            source,
            static (s, h) => s.Valued += h,
            static (s, h) => s.Valued -= h,
            owner,
            (_, _, _) =>
            {
                entered.SetResult();
                release.Task.WaitBounded();
            });

        var raising = Task.Run(() => source.RaiseValued(1));
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        subscription.Dispose();
        var disposing = subscription.DisposeAsync().AsTask();
        Assert.Equal(0, source.ValuedCount);
        Assert.False(disposing.IsCompleted, "DisposeAsync after Dispose must still wait for the running handler");

        var idle = Subscribe.WeakEvent<TestSource, Listener, int>(source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, owner, static (_, _, _) => { });
        var idleDispose = idle.DisposeAsync();
        Assert.True(idleDispose.IsCompletedSuccessfully);

        release.SetResult();
        await raising.Bounded();
        await disposing.Bounded();
    }

    [Fact]
    public async Task WeakEvent_DisposeAsyncFirstCall_WaitsForRunningHandler()
    {
        var source = new TestSource();
        var owner = new Listener();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finished = false;
        var subscription = Subscribe.WeakEvent<TestSource, Listener, int>(
            source,
            static (s, h) => s.Valued += h,
            static (s, h) => s.Valued -= h,
            owner,
            (_, _, _) =>
            {
                entered.SetResult();
                release.Task.WaitBounded();
                Volatile.Write(ref finished, true);
            });

        var raising = Task.Run(() => source.RaiseValued(1));
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var disposing = subscription.DisposeAsync().AsTask();
        Assert.False(disposing.IsCompleted);
        release.SetResult();
        await disposing.Bounded();
        Assert.True(Volatile.Read(ref finished));
        await raising.Bounded();

        // The link holds the owner weakly: collected before the raise read it, the handler would never run.
        GC.KeepAlive(owner);
    }

    [Fact]
    public void WeakEvent_Purge_KeepsLiveForwarders()
    {
        var source = new TestSource();
        var owner = new Listener();
        using var subscription = Subscribe.WeakEvent<TestSource, Listener, int>(
            source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, owner, static (o, _, v) => o.Seen.Add((null, v)));

        WeakLink.Registry.Purge();
        source.RaiseValued(5);

        Assert.Single(owner.Seen);
        Assert.True(subscription.IsActive);
    }

    internal sealed class Listener
    {
        public List<(object? Sender, int Value)> Seen { get; } = [];
    }
}
