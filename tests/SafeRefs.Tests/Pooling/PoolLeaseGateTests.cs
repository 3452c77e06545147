using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.ObjectPool;
using SafeRefs.Pooling;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Pooling;

/// <summary>
/// The lease gate shared by a lease's handlers: the windows around its close (a handler admitted as it closes, one
/// raised while the end detaches, one that returns while the end still runs, a stale forwarder in the next lease) and
/// the hand-back by the last handler out.
/// </summary>
public sealed class PoolLeaseGateTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

#if DEBUG // PoolLease<T>.BeforeEnterHook exists only in Debug builds (CI runs the suite in Debug too).
    [Fact]
    public async Task Raise_AdmittedJustAsTheLeaseEnds_TheHandlerDoesNotStart_AndTheObjectGoesBackAtOnce()
    {
        // The raise has read the lease's word (not ended) when the lease ends: counting in and the check are one
        // compare-and-swap, so it backs off rather than running the handler on an object that is back in the pool.
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        var calls = 0;
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => calls++));
        var read = widget.ChangedDelegate!;
        using var atGate = new ManualResetEventSlim();
        using var ended = new ManualResetEventSlim();
        PoolLease<Widget>.BeforeEnterHook = entering =>
        {
            if (ReferenceEquals(entering, lease) && !atGate.IsSet)
            {
                atGate.Set();
                ended.Wait(Bound);
            }
        };
        try
        {
            var raise = Task.Run(() => read(widget, EventArgs.Empty));
            Assert.True(atGate.Wait(Bound), "the raise did not reach the gate");

            var disposed = lease.DisposeAsync();
            Assert.True(disposed.IsCompletedSuccessfully); // nothing was admitted: back at once
            ended.Set();
            await raise.WaitAsync(Bound);
        }
        finally
        {
            PoolLease<Widget>.BeforeEnterHook = null;
        }

        Assert.Equal(0, calls);
        Assert.Equal(1L, pool.Statistics.Returned);
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
    }
#endif

    [Fact]
    public void Raise_WhileTheEndDetachesAnotherHandler_TheHandlerDoesNotStart()
    {
        // The end closes the gate before it detaches: a handler still attached (detached later, last in first out)
        // is not started by a raise on another thread in between.
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        var calls = 0;
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => calls++));
        var raisedDuringEnd = false;
        lease.On(
            static (w, h) => w.Ticked += h,
            (w, h) =>
            {
                raisedDuringEnd = w.ChangedCount == 1 && Task.Run(w.RaiseChanged).Wait(Bound);
                w.Ticked -= h;
            },
            (EventHandler<int>)((_, _) => { }));

        lease.Dispose();

        Assert.True(raisedDuringEnd);
        Assert.Equal(0, calls);
        Assert.Equal(0, widget.ListenerCount);
    }

    [Fact]
    public async Task Handler_ReturnsWhileTheEndStillDetaches_TheObjectGoesBackOnlyAfterTheEnd()
    {
        // The end counts itself as running: the last handler out does not hand the object back while the end is still
        // running remove accessors on it.
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        using var entered = new ManualResetEventSlim();
        using var releaseHandler = new ManualResetEventSlim();
        using var inRemove = new ManualResetEventSlim();
        using var releaseRemove = new ManualResetEventSlim();
        OnChangedHolding(lease, entered, releaseHandler);
        lease.On(
            static (w, h) => w.Ticked += h,
            (w, h) =>
            {
                inRemove.Set();
                releaseRemove.Wait(Bound);
                w.Ticked -= h;
            },
            (EventHandler<int>)((_, _) => { }));
        var raise = Task.Run(widget.RaiseChanged);
        Assert.True(entered.Wait(Bound), "the handler did not start");

        var disposing = Task.Run(async () => await lease.DisposeAsync());
        Assert.True(inRemove.Wait(Bound), "the end did not reach the remove accessor");
        releaseHandler.Set();
        await raise.WaitAsync(Bound); // the handler returned and left the gate

        Assert.Equal(0L, pool.Statistics.Returned);
        Assert.Equal(1, widget.ChangedCount); // still being detached: it must not be in the pool yet
        releaseRemove.Set();
        await disposing.WaitAsync(Bound);
        Assert.Equal(1L, pool.Statistics.Returned);
        Assert.Equal(0, widget.ListenerCount);
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
    }

    [Fact]
    public async Task StaleForwarder_OfAnEndedLease_NeverRunsInTheNextLeaseOfTheObject()
    {
        // A raise that read the first lease's forwarder calls it while the object serves the next lease: neither lease's
        // handler runs, and the next lease's end is not delayed by it.
        var pool = Widget.PoolOfOne();
        var first = pool.Rent();
        var widget = first.Value;
        var firstCalls = 0;
        first.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => firstCalls++));
        var stale = widget.ChangedDelegate!;
        first.Dispose();

        var second = pool.Rent();
        Assert.Same(widget, second.Value);
        var secondCalls = 0;
        second.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => secondCalls++));
        await Task.Run(() => stale(widget, EventArgs.Empty)).WaitAsync(Bound);

        Assert.Equal(0, firstCalls);
        Assert.Equal(0, secondCalls);
        widget.RaiseChanged();
        Assert.Equal(1, secondCalls);
        var disposed = second.DisposeAsync();
        Assert.True(disposed.IsCompletedSuccessfully);
        Assert.Equal(2L, pool.Statistics.Returned);
    }

    [Fact]
    public async Task LastHandlerOut_PolicysReturnThrows_LoggedNotThrownIntoTheRaise_AndDisposeAsyncFaults()
    {
        var logger = new FakeLogger();
        var pool = new GuardedObjectPool<Widget>(
            new DefaultObjectPool<Widget>(new ThrowingReturnPolicy(), maximumRetained: 1),
            new GuardedObjectPoolOptions<Widget> { Logger = logger });
        var lease = pool.Rent();
        var widget = lease.Value;
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        OnChangedHolding(lease, entered, release);
        var raise = Task.Run(widget.RaiseChanged);
        Assert.True(entered.Wait(Bound), "the handler did not start");

        var disposed = lease.DisposeAsync().AsTask();
        Assert.False(disposed.IsCompleted);
        release.Set();

        await raise.WaitAsync(Bound); // the raise that handed the object back does not see the policy's failure
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => disposed.WaitAsync(Bound));
        Assert.Equal(ThrowingReturnPolicy.Message, failure.Message);
        Assert.Equal(1304, Assert.Single(logger.Collector.GetSnapshot()).Id.Id);
        Assert.Equal(1L, pool.Statistics.Returned);
    }

    [Fact]
    public async Task End_NothingRunning_PolicysReturnThrows_DisposeAsyncReturnsAFaultedTask()
    {
        // The end that hands the object back itself threw it synchronously out of DisposeAsync.
        var pool = new GuardedObjectPool<Widget>(new DefaultObjectPool<Widget>(new ThrowingReturnPolicy(), maximumRetained: 1));
        var lease = pool.Rent();
        ValueTask disposing = default;

        Assert.Null(Record.Exception(() => disposing = lease.DisposeAsync()));
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => disposing.AsTask().WaitAsync(Bound));
        Assert.Equal(ThrowingReturnPolicy.Message, failure.Message);
        Assert.Equal(1L, pool.Statistics.Returned);
    }

    [Fact]
    public void End_DetachThrows_AndTheDiscardedObjectsDisposeThrows_TheCallerGetsBoth()
    {
        // The discarded object's failure replaced the AggregateException of the detach failures.
        var pool = new GuardedObjectPool<BrittleWidget>(new DefaultObjectPool<BrittleWidget>(new DefaultPooledObjectPolicy<BrittleWidget>(), 1));
        var lease = pool.Rent();
        lease.On(static (w, h) => w.Changed += h, static (_, _) => throw new ArgumentException("remove failed"), (EventHandler)((_, _) => { }));

        var all = Assert.Throws<AggregateException>(lease.Dispose);

        Assert.Contains(all.InnerExceptions, static e => e is ArgumentException { Message: "remove failed" });
        Assert.Contains(all.InnerExceptions, static e => e is InvalidOperationException { Message: BrittleWidget.Message });
        Assert.Equal(1L, pool.Statistics.Returned);
    }

    [Fact]
    public async Task End_OnAThirdThread_WhileAHandlerRuns_ReturnsAtOnce_AndTheObjectGoesBackAfterTheHandler()
    {
        // Rented and attached on one thread, raised on a second, ended on a third (as after an await).
        var pool = Widget.PoolOfOne();
        var lease = await Task.Run(pool.Rent).WaitAsync(Bound);
        var widget = lease.Value;
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        await Task.Run(() => OnChangedHolding(lease, entered, release)).WaitAsync(Bound);
        var raise = Task.Run(widget.RaiseChanged);
        Assert.True(entered.Wait(Bound), "the handler did not start");

        Task? disposed = null;
        await Task.Run(() => { disposed = lease.DisposeAsync().AsTask(); }).WaitAsync(Bound); // the end itself returned
        Assert.False(disposed!.IsCompleted);
        Assert.Equal(0L, pool.Statistics.Returned);
        Assert.Equal(0, widget.ListenerCount);
        release.Set();

        await raise.WaitAsync(Bound);
        await disposed.WaitAsync(Bound);
        Assert.Equal(1L, pool.Statistics.Returned);
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
    }

    [Fact]
    public async Task DisposeAsync_HandBackBetweenTheWaitersCheckAndItsPublish_Completes()
    {
        // The last handler out hands the object back without a lock: here it does so after the DisposeAsync looked for
        // the hand-back but before it published its waiter, so only the publish's compare-and-swap can see it. The hand-back after the publish is the test above.
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        OnChangedHolding(lease, entered, release);
        var raise = Task.Factory.StartNew(widget.RaiseChanged, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        entered.WaitBounded();
        var held = 0;
        PoolLease<Widget>.BeforeWaiterHook = waiting =>
        {
            if (ReferenceEquals(waiting, lease) && Interlocked.Exchange(ref held, 1) == 0)
            {
                release.Set();
                raise.WaitBounded(); // the handler returned and its thread handed the object back
            }
        };
        try
        {
            var disposed = lease.DisposeAsync();
            Assert.Equal(1, Volatile.Read(ref held));
            await disposed.Bounded();
        }
        finally
        {
            PoolLease<Widget>.BeforeWaiterHook = null;
            release.Set();
        }

        Assert.Equal(1L, pool.Statistics.Returned);
    }

    // Attaches a Changed handler that reports its start, then blocks until released.
    private static void OnChangedHolding(PoolLease<Widget> lease, ManualResetEventSlim entered, ManualResetEventSlim release) =>
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) =>
        {
            entered.Set();
            release.WaitBounded();
        }));

    /// <summary>A pooled object whose Dispose (when it is discarded) throws.</summary>
    public sealed class BrittleWidget : IDisposable
    {
        public const string Message = "the object's Dispose failed";

        public event EventHandler? Changed;

        public void Raise() => Changed?.Invoke(this, EventArgs.Empty);

        public void Dispose() => throw new InvalidOperationException(Message);
    }

    private sealed class ThrowingReturnPolicy : PooledObjectPolicy<Widget>
    {
        public const string Message = "policy Return failed";

        public override Widget Create() => new();

        public override bool Return(Widget obj) => throw new InvalidOperationException(Message);
    }
}
