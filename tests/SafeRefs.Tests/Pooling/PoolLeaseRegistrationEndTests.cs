using System.Threading.Tasks.Sources;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Events;
using SafeRefs.Pooling;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Tests.Subscriptions;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Pooling;

/// <summary>A lease ending while a callback of a tracked token registration runs.</summary>
public sealed class PoolLeaseRegistrationEndTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public void Track_ARawTokenRegistration_IsRefused_AndNothingIsTracked()
    {
        // Ended from inside its own callback, a raw registration's Dispose/DisposeAsync return at once on that
        // callback's thread: tracked, the object would go back while the callback still runs.
        var pool = Widget.PoolOfOne();
        using var lease = pool.Rent();
        using var source = new CancellationTokenSource();
        using var registration = source.Token.Register(static () => { });

        var boxed = Assert.Throws<ArgumentException>("registration", () => lease.Track<IDisposable>(registration));
        var typed = Assert.Throws<ArgumentException>("registration", () => lease.Track<CancellationTokenRegistration>(registration));

        Assert.Contains("OnCancel", boxed.Message, StringComparison.Ordinal);
        Assert.Equal(boxed.Message, typed.Message);
        Assert.Equal(0, lease.TrackedCount);
    }

    [Fact]
    public void Track_ARawTokenRegistration_DoesNotCompile()
    {
        // lease.Track(token.Register(...)) binds to this overload (non-generic beats generic), an error at compile time.
        var overload = typeof(PoolLease<Widget>).GetMethod(nameof(PoolLease<Widget>.Track), [typeof(CancellationTokenRegistration)]);

        var obsolete = overload?.GetCustomAttributes(typeof(ObsoleteAttribute), inherit: false).OfType<ObsoleteAttribute>().SingleOrDefault();
        Assert.NotNull(obsolete);
        Assert.True(obsolete.IsError);
        Assert.Contains("OnCancel", obsolete.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OnCancel_TheLeasesOwnToken_IsRefused()
    {
        // The lease's token is cancelled after its gate closed: the callback would never run.
        var pool = Widget.PoolOfOne();
        using var lease = pool.Rent();

        Assert.Throws<ArgumentException>("token", () => lease.OnCancel(lease.Token, static () => { }));
        Assert.Equal(0, lease.TrackedCount);
    }

    [Fact]
    public void OnCancel_AfterTheLeaseEnded_Throws_AndNeverRuns()
    {
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        using var source = new CancellationTokenSource();
        var calls = 0;
        lease.Dispose();

        Assert.Throws<ObjectDisposedException>(() => lease.OnCancel(source.Token, () => calls++));
        source.Cancel();
        Assert.Equal(0, calls);
    }

    [Fact]
    public void OnCancel_CancelledAfterDispose_DoesNotRun_AndIsNoLongerRegistered()
    {
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        using var source = new CancellationTokenSource();
        var calls = 0;
        lease.OnCancel(source.Token, () => calls++);
        Assert.Equal(1, lease.TrackedCount);

        lease.Dispose();
        source.Cancel();

        Assert.Equal(0, calls);
        Assert.Equal(1L, pool.Statistics.Detached);
    }

    // A tracked bag of two tokens; the later one's handler runs when the lease ends. The end detaches every token of the
    // bag before it joins that handler, so the earlier token's handler does not start after Dispose returned, and the
    // object goes back only once the running handler returned. Control twin (running false): the object goes back at once.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Dispose_WhileATrackedBagsLaterTokenRuns_TheEarlierTokenDoesNotStartAfterItReturned(bool running)
    {
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var bag = new BagOfTwoHandlers(lease.Track(new SubscriptionBag()));
        var startsBefore = await bag.RaiseEarlierAsync();
        if (running)
        {
            await bag.StartLaterHandlerAsync();
        }

        lease.Dispose();
        var returnedAtOnce = pool.Statistics.Returned;
        var starts = await bag.RaiseEarlierAsync();
        await bag.ReleaseAsync();
        Assert.True(SpinWait.SpinUntil(() => pool.Statistics.Returned == 1, Bound), "the object never went back");

        Assert.Equal((1, running ? 0L : 1L), (startsBefore, returnedAtOnce));
        Assert.True(starts == 1, "the tracked bag's earlier token's handler started after lease.Dispose() returned");
    }

    [Fact]
    public void OnCancel_AnAlreadyCancelledToken_RunsAtOnce_AlsoWhenTheCallbackEndsTheLease()
    {
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        long returnedInsideCallback = -1;

        lease.OnCancel(new CancellationToken(canceled: true), () => { });
        using var source = new CancellationTokenSource();
        source.Cancel();
        lease.OnCancel(source.Token, () =>
        {
            lease.Dispose();
            returnedInsideCallback = pool.Statistics.Returned;
        });

        Assert.Equal(0L, returnedInsideCallback);
        Assert.Equal(1L, pool.Statistics.Returned);
        Assert.Equal(0, lease.TrackedCount);
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
        Assert.Equal(0, next.TrackedCount);
    }

    public enum TrackedTimerItem
    {
        Scope,
        Timer,
        Loop,
    }

    // throughBag: the item is in a tracked SubscriptionBag (false, the item tracked itself, is the twin); nested: in a
    // bag in that bag.
    [Theory]
    [InlineData(TrackedTimerItem.Scope, false, false)]
    [InlineData(TrackedTimerItem.Timer, false, false)]
    [InlineData(TrackedTimerItem.Loop, false, false)]
    [InlineData(TrackedTimerItem.Scope, true, false)]
    [InlineData(TrackedTimerItem.Timer, true, false)]
    [InlineData(TrackedTimerItem.Loop, true, false)]
    [InlineData(TrackedTimerItem.Timer, true, true)]
    public async Task Dispose_FromInsideATrackedTimerItemsCallback_DoesNotThrow_AndTheObjectGoesBackAfterTheCallback(TrackedTimerItem item, bool throughBag, bool nested)
    {
        // A timer scope's, timer's or loop's DisposeAsync faults inside its own callback; the end must not use it,
        // nor a tracked bag's end for its items: the object would be discarded while the callback uses it.
        var clock = new FakeTimeProvider();
        using var outer = new TimerScope(clock);
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Exception? thrown = null;
        long returnedInsideCallback = -1;
        void Callback()
        {
            thrown = Record.Exception(lease.Dispose);
            returnedInsideCallback = pool.Statistics.Returned;
            done.TrySetResult();
        }

        var (due, _) = TrackTimerItem(lease, item, throughBag, outer, clock, Callback, nested);
        clock.Advance(due);
        await done.Task.WaitAsync(Bound);

        Assert.Null(thrown);
        Assert.Equal(0L, returnedInsideCallback);
        Assert.True(SpinWait.SpinUntil(() => pool.Statistics.Returned == 1, Bound));
        Assert.False(widget.IsDisposed, "the object was discarded");
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
    }

    [Theory]
    [InlineData(TrackedTimerItem.Scope, false, false, false)]
    [InlineData(TrackedTimerItem.Timer, false, false, false)]
    [InlineData(TrackedTimerItem.Loop, false, false, false)]
    [InlineData(TrackedTimerItem.Scope, true, false, false)]
    [InlineData(TrackedTimerItem.Timer, true, false, false)]
    [InlineData(TrackedTimerItem.Loop, true, false, false)]
    [InlineData(TrackedTimerItem.Scope, false, true, false)]
    [InlineData(TrackedTimerItem.Timer, false, true, false)]
    [InlineData(TrackedTimerItem.Loop, false, true, false)]
    [InlineData(TrackedTimerItem.Scope, true, true, false)]
    [InlineData(TrackedTimerItem.Timer, true, true, false)]
    [InlineData(TrackedTimerItem.Loop, true, true, false)]
    [InlineData(TrackedTimerItem.Timer, false, true, true)]
    public async Task DisposeAsync_InsideATrackedTimerItemsCallback_FaultsAtOnce_AndTheObjectGoesBackAfterTheCallback(TrackedTimerItem item, bool disposeFirst, bool throughBag, bool nested)
    {
        // The lease's end joins the running callback, so a DisposeAsync there would wait for itself; also when a
        // Dispose in the same callback already ended the lease, and when the item is in a tracked bag.
        var clock = new FakeTimeProvider();
        using var outer = new TimerScope(clock);
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        ValueTask inside = default;
        var completedInside = false;
        void Callback()
        {
            if (disposeFirst)
            {
                lease.Dispose();
            }

            inside = lease.DisposeAsync();
            completedInside = inside.IsCompleted;
        }

        var (due, _) = TrackTimerItem(lease, item, throughBag, outer, clock, Callback, nested);
        clock.Advance(due); // runs the callback on this thread

        Assert.True(completedInside, "DisposeAsync inside the tracked item's callback was pending: awaiting it there would hang");
        await Assert.ThrowsAsync<InvalidOperationException>(() => inside.AsTask().Bounded());
        Assert.True(SpinWait.SpinUntil(() => pool.Statistics.Returned == 1, Bound));
        Assert.False(widget.IsDisposed, "the object was discarded");
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
    }

    // throughBag: the token is an item of a tracked SubscriptionBag (false, the token tracked itself, is the twin).
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task DisposeAsync_InsideATrackedAsyncHandlerAfterAnAwait_FaultsAtOnce_AndTheObjectGoesBackAfterTheHandler(bool disposeFirst, bool throughBag)
    {
        // A tracked AsyncWeakEvent token: the end joins its handler's whole task, so a DisposeAsync of the lease
        // awaited inside it would wait for itself; a Dispose there first ends the lease without throwing, and the
        // object is neither returned nor discarded while the handler runs.
        var source = new AsyncWeakEvent<int>();
        var owner = new object();
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inside = new TaskCompletionSource<(Exception? Thrown, bool Completed, Task Disposing)>(TaskCreationOptions.RunContinuationsAsynchronously);
        long returnedInside = -1;
        var token = source.Subscribe(owner, async (_, _, _, _) =>
        {
            await Task.Yield(); // resumes on a thread-pool thread
            var thrown = disposeFirst ? Record.Exception(lease.Dispose) : null;
            var disposing = lease.DisposeAsync();
            returnedInside = pool.Statistics.Returned;
            inside.SetResult((thrown, disposing.IsCompleted, disposing.AsTask()));
            await release.Task.ConfigureAwait(false);
        });
        if (throughBag)
        {
            lease.Track(new SubscriptionBag()).Add(token);
        }
        else
        {
            lease.Track(token);
        }

        var raising = source.RaiseAsync(null, 1).AsTask();
        var (thrown, completed, disposing) = await inside.Task.Bounded();

        Assert.Null(thrown);
        Assert.True(completed, "DisposeAsync inside the tracked token's handler was pending: awaiting it there would hang");
        await Assert.ThrowsAsync<InvalidOperationException>(() => disposing.Bounded());
        Assert.Equal(0L, returnedInside);
        Assert.Equal(0L, pool.Statistics.Returned);
        Assert.False(widget.IsDisposed, "the object was discarded while the handler ran");
        release.SetResult();
        await raising.Bounded();
        Assert.True(SpinWait.SpinUntil(() => pool.Statistics.Returned == 1, Bound));
        Assert.False(widget.IsDisposed, "the object was discarded");
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
        GC.KeepAlive(owner);
    }

    [Fact]
    public async Task DisposeAsync_AwaitedInsideATrackedSynchronousCallback_CompletesOnceTheCallbackReturned()
    {
        // Control for the async-handler fault: a synchronous callback returns before the await resumes.
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        using var source = new CancellationTokenSource();
        Task? awaited = null;
        async Task AwaitEndAsync()
        {
            await lease.DisposeAsync();
            Assert.Equal(1L, pool.Statistics.Returned);
        }

        lease.Track(Subscribe.OnCancel(source.Token, _ => awaited = AwaitEndAsync(), null));
        await Task.Run(source.Cancel).Bounded();

        await awaited!.Bounded();
        Assert.Equal(1L, pool.Statistics.Returned);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Dispose_FromInsideAnOnCancelCallback_TheObjectGoesBackOnlyAfterTheCallback(bool tracked)
    {
        // lease.OnCancel, and a tracked Subscribe.OnCancel: the callback is waited for, also from inside, on the
        // cancelling thread.
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        using var source = new CancellationTokenSource();
        long returnedInsideCallback = -1;
        void Callback()
        {
            lease.Dispose();
            returnedInsideCallback = pool.Statistics.Returned;
        }

        if (tracked)
        {
            lease.Track(Subscribe.OnCancel(source.Token, _ => Callback(), null));
        }
        else
        {
            lease.OnCancel(source.Token, Callback);
        }

        await Task.Run(source.Cancel).WaitAsync(Bound);

        Assert.Equal(0L, returnedInsideCallback);
        Assert.True(SpinWait.SpinUntil(() => pool.Statistics.Returned == 1, Bound));
        Assert.False(widget.IsDisposed, "the object was discarded");
    }

    // The user disposed the tracked bag inside the item's callback before ending the lease there (bagDisposed false,
    // the bag still live, is the twin): the disposed bag still holds its timer items and nested bags, so the end waits
    // for the callback, and a DisposeAsync there faults instead of waiting for it.
    [Theory]
    [InlineData(TrackedTimerItem.Scope, false, false, false)]
    [InlineData(TrackedTimerItem.Scope, false, true, false)]
    [InlineData(TrackedTimerItem.Timer, false, true, false)]
    [InlineData(TrackedTimerItem.Loop, false, true, false)]
    [InlineData(TrackedTimerItem.Timer, true, true, false)]
    [InlineData(TrackedTimerItem.Timer, false, false, true)]
    [InlineData(TrackedTimerItem.Timer, false, true, true)]
    [InlineData(TrackedTimerItem.Timer, true, true, true)]
    public async Task EndInsideATimerItemsCallback_OfATrackedBagTheUserDisposed_TheObjectGoesBackAfterTheCallback(TrackedTimerItem item, bool nested, bool bagDisposed, bool asynchronously)
    {
        var clock = new FakeTimeProvider();
        using var outer = new TimerScope(clock);
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        SubscriptionBag? bag = null;
        Exception? thrown = null;
        ValueTask inside = default;
        long returnedInsideCallback = -1;
        void Callback()
        {
            if (bagDisposed)
            {
                bag!.Dispose();
            }

            if (asynchronously)
            {
                inside = lease.DisposeAsync();
            }
            else
            {
                thrown = Record.Exception(lease.Dispose);
            }

            returnedInsideCallback = pool.Statistics.Returned;
        }

        (var due, bag) = TrackTimerItem(lease, item, throughBag: true, outer, clock, Callback, nested);
        clock.Advance(due); // runs the callback on this thread

        Assert.Null(thrown);
        Assert.Equal(0L, returnedInsideCallback);
        if (asynchronously)
        {
            Assert.True(inside.IsCompleted, "DisposeAsync inside the item's callback was pending: awaiting it there would hang");
            await Assert.ThrowsAsync<InvalidOperationException>(() => inside.AsTask().Bounded());
        }

        Assert.True(SpinWait.SpinUntil(() => pool.Statistics.Returned == 1, Bound));
        Assert.False(widget.IsDisposed, "the object was discarded");
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
    }

    // Tracks a timer scope, timer or loop whose callback (or body) is due in a second on the fake clock, itself or as
    // the item of a tracked bag (or of a bag in it, nested); returns that due and the tracked bag.
    private static (TimeSpan Due, SubscriptionBag? Bag) TrackTimerItem(PoolLease<Widget> lease, TrackedTimerItem item, bool throughBag, TimerScope outer, FakeTimeProvider clock, Action callback, bool nested)
    {
        var due = TimeSpan.FromSeconds(1);
        IDisposable tracked;
        switch (item)
        {
            case TrackedTimerItem.Scope:
                var scope = new TimerScope(clock);
                scope.After(due, callback);
                tracked = scope;
                break;
            case TrackedTimerItem.Timer:
                tracked = outer.After(due, callback);
                break;
            default:
                tracked = outer.Loop(due, _ =>
                {
                    callback();
                    return ValueTask.CompletedTask;
                });
                break;
        }

        if (throughBag)
        {
            var bag = lease.Track(new SubscriptionBag());
            (nested ? bag.Add(new SubscriptionBag()) : bag).Add(tracked);
            return (due, bag);
        }

        lease.Track(tracked);
        return (due, null);
    }

    // A per-use bag that owns everything, the lease included, and that the lease tracks: the lease's end disposes the
    // bag, the bag awaits lease.DisposeAsync(), which waited for the hand-back, which waited for the bag: the object
    // never went back. Twins: the bag without the lease, and the bag disposed first.
    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task Dispose_TrackedBagHoldsTheLease_ObjectGoesBack(bool leaseFirst, bool bagHoldsLease)
    {
        var pool = Widget.PoolOfOne();
        var bag = new SubscriptionBag();
        var lease = pool.Rent();
        var widget = lease.Value;
        if (bagHoldsLease)
        {
            bag.Add(lease);
        }

        lease.Track(bag);
        var bagDisposed = leaseFirst ? Task.CompletedTask : bag.DisposeAsync().AsTask();
        lease.Dispose();

        Assert.Equal(0L, pool.Statistics.Outstanding);
        await bag.DisposeAsync().Bounded();
        await bagDisposed.Bounded();
        await lease.DisposeAsync().Bounded();
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
    }

    // The same after an await in the bag's disposal: an item disposed before the lease (added after it) completes
    // later, and the bag's continuation then awaits lease.DisposeAsync(); the lease's DisposeAsync completes too.
    [Fact]
    public async Task DisposeAsync_TrackedBagHoldsTheLeaseAndAwaitsFirst_ObjectGoesBack()
    {
        var pool = Widget.PoolOfOne();
        var bag = new SubscriptionBag();
        var lease = pool.Rent();
        var later = new CompletingLater();
        bag.Add(lease);
        bag.Add(later);
        lease.Track(bag);

        var disposed = lease.DisposeAsync().AsTask();
        var outstandingWhileItemRuns = pool.Statistics.Outstanding;
        later.Complete();
        await disposed.Bounded();

        Assert.Equal((1L, 0L), (outstandingWhileItemRuns, pool.Statistics.Outstanding));
    }

    // The lease disposes a tracked registration inside a frame of its own, so that work the disposal started may call
    // lease.DisposeAsync() without waiting for the hand-back; once the disposal has completed, that frame must have
    // ended. Here the disposal looks pending at the lease's first look and completed at its next (as one completing on
    // another thread in between does): work it left behind must still wait for the hand-back, held by a handler of the
    // lease that runs on another thread. Twin: a disposal completed at once.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DisposeAsync_InWorkOfATrackedDisposalThatCompletedWhileTheEndLooked_WaitsForTheHandBack(bool completesWhileLooked)
    {
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) =>
        {
            entered.TrySetResult();
            release.Task.Wait(TestTimeouts.Bound);
        }));
        var container = lease.Track(new ContextCapturingContainer(completesWhileLooked));
        var raise = Task.Run(widget.RaiseChanged);
        await entered.Task.Bounded();

        lease.Dispose(); // the handler still runs: the object does not go back yet
        Task? later = null;
        ExecutionContext.Run(container.Captured!, _ => later = lease.DisposeAsync().AsTask(), null);
        var completedEarly = later!.IsCompleted;
        var outstanding = pool.Statistics.Outstanding;
        release.TrySetResult();
        await raise.Bounded();
        await later.Bounded();

        Assert.Equal(1L, outstanding);
        Assert.False(completedEarly, "DisposeAsync completed while the object was still out");
    }

    private sealed class CompletingLater : IDisposable, IAsyncDisposable
    {
        private readonly TaskCompletionSource _done = new();

        public void Complete() => _done.TrySetResult();

        public void Dispose() => throw new InvalidOperationException("disposed with DisposeAsync only");

        public ValueTask DisposeAsync() => new(_done.Task);
    }

    // Captures the context that work its disposal leaves behind runs in; its disposal reports pending on the first
    // status check only (completesWhileLooked), else completed.
    private sealed class ContextCapturingContainer(bool completesWhileLooked) : IDisposable, IAsyncDisposable, IValueTaskSource
    {
        private int _checks;

        public ExecutionContext? Captured { get; private set; }

        public void Dispose() => throw new InvalidOperationException("disposed with DisposeAsync only");

        public ValueTask DisposeAsync()
        {
            Captured = ExecutionContext.Capture();
            return new(this, 0);
        }

        public ValueTaskSourceStatus GetStatus(short token) =>
            completesWhileLooked && Interlocked.Increment(ref _checks) == 1 ? ValueTaskSourceStatus.Pending : ValueTaskSourceStatus.Succeeded;

        public void GetResult(short token)
        {
        }

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            continuation(state);
    }
}
