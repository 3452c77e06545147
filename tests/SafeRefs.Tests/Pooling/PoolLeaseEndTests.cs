using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Diagnostics;
using SafeRefs.Internal;
using SafeRefs.Pooling;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Pooling;

/// <summary>A lease is over only when nothing of it runs: its object goes back after its running callbacks return.</summary>
[Collection(TimerHookCollection.Name)]
public sealed class PoolLeaseEndTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static GuardedObjectPool<Widget> PoolOfOne(FakeTimeProvider clock, GuardedObjectPoolOptions<Widget>? options = null) =>
        HeldLeaseCallback.PoolOfOne(clock, options);

    // The probe counts when the object goes back, after the last callback of the lease returned: a handler still running
    // at Dispose that attaches behind the lease is caught. Twin: the same attachment made before Dispose.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Probe_AHandlerRunningAtDispose_AttachesBehindTheLease_IsCaught(bool attachAfterDispose)
    {
        var pool = Widget.PoolOfOne(new GuardedObjectPoolOptions<Widget> { ListenerCountProbe = static w => w.ListenerCount });
        var leaks = 0;
        pool.LeakSuspected += (_, _) => Interlocked.Increment(ref leaks);
        var lease = pool.Rent();
        var widget = lease.Value;
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lease.On(static (w, h) => w.Ticked += h, static (w, h) => w.Ticked -= h, (EventHandler<int>)((_, _) =>
        {
            if (!attachAfterDispose)
            {
                AttachBehindTheLease(widget);
            }

            entered.TrySetResult();
            release.Task.Wait(TestTimeouts.Bound);
            if (attachAfterDispose)
            {
                AttachBehindTheLease(widget);
            }
        }));
        var raise = Task.Run(() => widget.RaiseTicked(1));
        await entered.Task.Bounded();

        var disposed = lease.DisposeAsync().AsTask(); // the handler still runs: the object goes back when it returns
        release.TrySetResult();
        await raise.Bounded();
        await disposed.Bounded();

        Assert.Equal(1, leaks);
        Assert.True(widget.IsDisposed); // discarded (WarnAndDiscard), not reused with a foreign listener
    }

    // With LeakAction.Throw, a finding at a hand-back a handler's exit made is not thrown into the raise: the DisposeAsync
    // that waits faults with it.
    [Fact]
    public async Task Probe_Throw_FindingAtAHandlersExit_FaultsTheWaitingDisposeAsync_NotTheRaise()
    {
        var pool = Widget.PoolOfOne(new GuardedObjectPoolOptions<Widget> { ListenerCountProbe = static w => w.ListenerCount, OnLeakSuspected = LeakAction.Throw });
        var lease = pool.Rent();
        var widget = lease.Value;
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lease.On(static (w, h) => w.Ticked += h, static (w, h) => w.Ticked -= h, (EventHandler<int>)((_, _) =>
        {
            entered.TrySetResult();
            release.Task.Wait(TestTimeouts.Bound);
            AttachBehindTheLease(widget);
        }));
        var raise = Task.Run(() => widget.RaiseTicked(1));
        await entered.Task.Bounded();

        var disposed = lease.DisposeAsync().AsTask();
        release.TrySetResult();
        await raise.Bounded(); // the raise does not see the finding

        var leak = await Assert.ThrowsAsync<LeaseLeakException>(() => disposed.Bounded());
        Assert.Equal(1, leak.CountAtReturn);
        Assert.True(widget.IsDisposed);
        Assert.Equal(0L, pool.Statistics.Outstanding);
    }

    // DisposeAsync faults with what Dispose would throw: a remove that failed at the end is reported also when a handler
    // still running defers the hand-back, whose probe finding (Throw) faults the wait. Twin: the end hands back itself.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DisposeAsync_RemoveFailed_FaultsWithItAlsoWhenAHandlerDefersTheHandBack(bool handlerRunning)
    {
        var pool = Widget.PoolOfOne(new GuardedObjectPoolOptions<Widget> { ListenerCountProbe = static w => w.ChangedCount, OnLeakSuspected = LeakAction.Throw });
        var lease = pool.Rent();
        var widget = lease.Value;
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lease.On(static (w, h) => w.Ticked += h, static (_, _) => throw new InvalidOperationException("remove failed"), (EventHandler<int>)((_, _) => { }));
        lease.On(static (w, h) => w.Ticked += h, static (w, h) => w.Ticked -= h, (EventHandler<int>)((_, _) =>
        {
            entered.TrySetResult();
            release.Task.Wait(TestTimeouts.Bound);
        }));
        AttachBehindTheLease(widget);
        var raise = Task.CompletedTask;
        if (handlerRunning)
        {
            raise = Task.Run(() => widget.RaiseTicked(1));
            await entered.Task.Bounded();
        }

        var disposed = lease.DisposeAsync().AsTask();
        release.TrySetResult();
        await raise.Bounded();

        var thrown = await Assert.ThrowsAsync<AggregateException>(() => disposed.Bounded());
        Assert.Contains(thrown.InnerExceptions, static e => e is InvalidOperationException { Message: "remove failed" });
        if (handlerRunning)
        {
            Assert.Contains(thrown.InnerExceptions, static e => e is LeaseLeakException);
        }

        Assert.True(widget.IsDisposed);
        Assert.Equal(0L, pool.Statistics.Outstanding);
    }

    [Fact]
    public async Task Returned_IsCountedOnlyOnceTheObjectIsBackInTheInnerPool()
    {
        // A caller that waits for Returned and then rents must get this very object (a pool of one): the count may not
        // run ahead of the inner pool's Return.
        using var inReturn = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var pool = new GuardedObjectPool<Widget>(new DefaultObjectPool<Widget>(new BlockingReturnPolicy(inReturn, release), maximumRetained: 1));
        var lease = pool.Rent();
        var widget = lease.Value;

        var disposing = Task.Run(lease.Dispose);
        Assert.True(inReturn.Wait(Bound));
        Assert.Equal(0L, pool.Statistics.Returned);

        release.Set();
        await disposing.WaitAsync(Bound);
        Assert.Equal(1L, pool.Statistics.Returned);
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
    }

    [Fact]
    public async Task Dispose_WhileALeaseTimerCallbackRuns_TheObjectGoesBackOnlyAfterTheCallbackReturned()
    {
        // The callback still uses the object after its lease was disposed.
        using var held = HeldLeaseCallback.Start(periodic: false, afterRelease: static widget => widget.RaiseChanged());
        var pool = held.Pool;

        held.Lease.Dispose(); // returns at once: the callback is still running
        using (var next = pool.Rent())
        {
            // The object is not back yet, so the next renter gets another one.
            Assert.NotSame(held.Widget, next.Value);
        }

        Assert.Equal(0L, pool.Statistics.Returned - 1); // only the other object came back so far
        held.Release();
        await held.Advance.WaitAsync(Bound);
        Assert.True(SpinWait.SpinUntil(() => pool.Statistics.Returned == 2, Bound));
    }

    [Fact]
    public async Task DisposeAsync_AfterDispose_WhileALeaseTimerCallbackRuns_CompletesOnlyAfterTheObjectWentBack()
    {
        // `using var lease` plus an `await lease.DisposeAsync()` before its end: the second end waits for the first's
        // hand-back.
        using var held = HeldLeaseCallback.Start(periodic: false);
        held.Lease.Dispose();

        var disposed = held.Lease.DisposeAsync().AsTask();

        Assert.False(disposed.IsCompleted);
        held.Release();
        await disposed.WaitAsync(Bound);
        Assert.Equal(1L, held.Pool.Statistics.Returned);
        await held.Advance.WaitAsync(Bound);
    }

    [Fact]
    public async Task DisposeAsync_AfterDispose_ObjectRentedAgainSince_CompletesAtOnce()
    {
        // Control: once the object went back and serves another lease, a late DisposeAsync of the first does not wait
        // for the second.
        var pool = PoolOfOne(new FakeTimeProvider());
        var first = pool.Rent();
        first.Dispose();
        using var second = pool.Rent();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        second.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) =>
        {
            entered.Set();
            release.Wait(Bound);
        }));
        var raise = Task.Run(second.Value.RaiseChanged);
        Assert.True(entered.Wait(Bound), "the handler did not start");
        second.Dispose(); // a waiter of the second lease now sits in the object's state

        var late = first.DisposeAsync();

        Assert.True(late.IsCompletedSuccessfully);
        release.Set();
        await raise.WaitAsync(Bound);
    }

    [Fact]
    public void Dispose_ProbeThrowsAtTheEnd_TheCallerGetsIt_AndTheObjectIsDiscarded()
    {
        // A throwing probe (user code) at the end must not strand the object.
        var throwAtEnd = false;
        var pool = PoolOfOne(new FakeTimeProvider(), new GuardedObjectPoolOptions<Widget>
        {
            ListenerCountProbe = w => throwAtEnd ? throw new InvalidOperationException("probe") : w.ListenerCount,
        });
        var lease = pool.Rent();
        var widget = lease.Value;
        throwAtEnd = true;

        var thrown = Assert.Throws<AggregateException>(lease.Dispose);

        Assert.Equal("probe", Assert.Single(thrown.InnerExceptions).Message);
        Assert.Equal(1L, pool.Statistics.Returned);
        Assert.True(widget.IsDisposed);
        throwAtEnd = false;
        using var next = pool.Rent();
        Assert.NotSame(widget, next.Value);
    }

    [Fact]
    public void Dispose_TimerTokenCallbackAndTheLoggerThrow_TheObjectStillGoesBack()
    {
        // The lease's timer scope logs its token callback's failure to the pool's logger; a throwing logger must not
        // strand the object either.
        var pool = PoolOfOne(new FakeTimeProvider(), new GuardedObjectPoolOptions<Widget> { Logger = new ThrowingLogger() });
        var lease = pool.Rent();
        using var registration = lease.Timers.Token.Register(static () => throw new InvalidOperationException("token callback"));
        var lifetime = lease.Token;

        Assert.Throws<AggregateException>(lease.Dispose);

        Assert.Equal(1L, pool.Statistics.Returned);
        Assert.True(lifetime.IsCancellationRequested);
    }

    [Fact]
    public async Task DisposeAsync_WhileALeaseTimerCallbackRuns_CompletesOnlyAfterTheObjectWentBack()
    {
        using var held = HeldLeaseCallback.Start(periodic: true);
        var pool = held.Pool;

        var disposed = held.Lease.DisposeAsync().AsTask();
        Assert.False(disposed.IsCompleted);
        Assert.Equal(0L, pool.Statistics.Returned);

        held.Release();
        await disposed.WaitAsync(Bound);
        Assert.Equal(1L, pool.Statistics.Returned);
        using var next = pool.Rent();
        Assert.Same(held.Widget, next.Value);
        await held.Advance.WaitAsync(Bound);
    }

    [Fact]
    public void Dispose_FromInsideTheLeasesOwnTimerCallback_DoesNotBlock_AndTheObjectGoesBackAfterTheCallback()
    {
        var clock = new FakeTimeProvider();
        var pool = PoolOfOne(clock);
        var lease = pool.Rent();
        var widget = lease.Value;
        long returnedInsideCallback = -1;
        lease.Timers.After(TimeSpan.FromSeconds(1), () =>
        {
            lease.Dispose();
            returnedInsideCallback = pool.Statistics.Returned;
        });

        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(0L, returnedInsideCallback);
        Assert.True(SpinWait.SpinUntil(() => pool.Statistics.Returned == 1, Bound));
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
    }

    [Fact]
    public async Task Dispose_WhileALeaseLoopBodyRuns_TheObjectGoesBackOnlyAfterTheBodyReturned()
    {
        var clock = new FakeTimeProvider();
        var pool = PoolOfOne(clock);
        var lease = pool.Rent();
        var widget = lease.Value;
        var bodyRelease = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var bodies = 0;
        var loop = lease.Timers.Loop(widget, TimeSpan.FromSeconds(1), async (w, _) =>
        {
            Interlocked.Increment(ref bodies);
            await bodyRelease.Task.ConfigureAwait(false); // ignores the token: cancellation is only a request
            w.RaiseChanged();
        });
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, bodies);

        var disposed = lease.DisposeAsync().AsTask();
        using (var next = pool.Rent())
        {
            Assert.NotSame(widget, next.Value);
        }

        Assert.False(disposed.IsCompleted);
        bodyRelease.SetResult();
        await disposed.WaitAsync(Bound);
        Assert.True(loop.Completion.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, bodies);
    }

#if DEBUG // ScopedTimer.BeforeEnterHook is a Debug-only test seam (CI runs the suite in Debug too).
    [Fact]
    public void Dispose_InTheWindowBeforeALeaseTimerCallbackStarts_TheCallbackNeverRuns()
    {
        var clock = new FakeTimeProvider();
        var pool = PoolOfOne(clock);
        var lease = pool.Rent();
        var ran = 0;
        var timer = lease.Timers.After(TimeSpan.FromSeconds(1), () => ran++);
        ScopedTimer.BeforeEnterHook = t =>
        {
            if (ReferenceEquals(t, timer))
            {
                lease.Dispose();
            }
        };
        try
        {
            clock.Advance(TimeSpan.FromSeconds(1));
        }
        finally
        {
            ScopedTimer.BeforeEnterHook = null;
        }

        Assert.Equal(0, ran);
        Assert.Equal(1L, pool.Statistics.Returned);
    }
#endif

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DisposeAsync_InsideTheLeasesOwnTimerCallback_FaultsWithInvalidOperation_AndTheObjectStillGoesBack(bool disposeFirst)
    {
        // Also when a Dispose in the same callback already ended the lease: the later DisposeAsync would wait for it.
        var clock = new FakeTimeProvider();
        var pool = PoolOfOne(clock);
        var lease = pool.Rent();
        var widget = lease.Value;
        Task? ownDispose = null;
        lease.Timers.After(TimeSpan.FromSeconds(1), () =>
        {
            if (disposeFirst)
            {
                lease.Dispose();
            }

            ownDispose = lease.DisposeAsync().AsTask();
        });

        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.IsType<InvalidOperationException>(ownDispose!.Exception?.InnerException);
        Assert.True(SpinWait.SpinUntil(() => pool.Statistics.Returned == 1, Bound));
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
    }

    [Fact]
    public async Task DisposeAsync_InsideTheLeasesOwnAsyncTimerBodyAfterAnAwait_FaultsWithInvalidOperation_AndTheObjectStillGoesBack()
    {
        var clock = new FakeTimeProvider();
        var pool = PoolOfOne(clock);
        var lease = pool.Rent();
        var widget = lease.Value;
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ownDispose = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        lease.Timers.After(TimeSpan.FromSeconds(1), async _ =>
        {
            await resume.Task.ConfigureAwait(false); // resumes on a thread-pool thread
            ownDispose.SetResult(lease.DisposeAsync().AsTask());
        });

        clock.Advance(TimeSpan.FromSeconds(1));
        resume.SetResult();
        var disposing = await ownDispose.Task.WaitAsync(Bound);

        Assert.True(disposing.IsFaulted, "a wait for itself would never end");
        Assert.IsType<InvalidOperationException>(disposing.Exception?.InnerException);
        Assert.True(SpinWait.SpinUntil(() => pool.Statistics.Returned == 1, Bound));
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
    }

    [Fact]
    public void LeaseTimerThrows_ReportedToTimerErrorAndLogged_AndTheTimerKeepsItsSchedule()
    {
        var clock = new FakeTimeProvider();
        var logger = new FakeLogger();
        var pool = PoolOfOne(clock, new GuardedObjectPoolOptions<Widget> { Logger = logger });
        var seen = new List<Exception>();
        pool.TimerError += (_, e) => seen.Add(e.Exception);
        using var lease = pool.Rent();
        var boom = new InvalidOperationException("boom");
        var ticks = 0;
        lease.Timers.Every(TimeSpan.FromSeconds(1), () =>
        {
            ticks++;
            throw boom;
        });

        clock.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(2, ticks);
        Assert.Equal([boom, boom], seen);
        Assert.All(logger.Collector.GetSnapshot(), r => Assert.Equal(1200, r.Id.Id));
        Assert.Equal(2, logger.Collector.Count);
    }

    [Fact]
    public void LeaseTimerThrows_TimerErrorHandlerThrowsToo_NotPropagated()
    {
        var clock = new FakeTimeProvider();
        var pool = PoolOfOne(clock);
        pool.TimerError += (_, _) => throw new InvalidOperationException("handler");
        using var lease = pool.Rent();
        lease.Timers.After(TimeSpan.FromSeconds(1), () => throw new InvalidOperationException("callback"));

        clock.Advance(TimeSpan.FromSeconds(1)); // would throw out of Advance if the failure were rethrown
    }

    [Fact]
    public void LeaseLoopThrows_ReportedToTimerErrorAndLogged_AndTheLoopKeepsItsSchedule()
    {
        var clock = new FakeTimeProvider();
        var logger = new FakeLogger();
        var pool = PoolOfOne(clock, new GuardedObjectPoolOptions<Widget> { Logger = logger });
        var seen = new List<(object? Sender, TimerErrorEventArgs Args)>();
        pool.TimerError += (sender, e) => seen.Add((sender, e));
        using var lease = pool.Rent();
        var boom = new InvalidOperationException("boom");
        var bodies = 0;
        var loop = lease.Timers.Loop(TimeSpan.FromSeconds(1), _ =>
        {
            bodies++;
            throw boom;
        });

        clock.Advance(TimeSpan.FromSeconds(1));
        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(2, bodies);
        Assert.Equal(2, seen.Count);
        Assert.All(seen, e =>
        {
            Assert.Same(lease.Timers, e.Sender);
            Assert.Same(boom, e.Args.Exception);
            Assert.Same(loop, e.Args.Loop);
            Assert.Null(e.Args.Timer);
        });
        var records = logger.Collector.GetSnapshot();
        Assert.Equal(2, records.Count);
        Assert.All(records, r =>
        {
            Assert.Equal(1201, r.Id.Id);
            Assert.Same(boom, r.Exception);
        });
        Assert.True(loop.IsActive);
    }

    [Fact]
    public void LeaseTimerAndLoopThrow_WithoutAnyHandler_TheProcessSurvives()
    {
        var (exitCode, output) = ChildProcess.Run("pool-lease-callbacks-throw-without-handler", TimeSpan.FromSeconds(60));
        Assert.True(exitCode == 0, $"the child exited with {exitCode}: {output}");
        Assert.Contains("survived", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Dispose_TokenCallbackThrows_SurfacesToTheDisposer_AfterEverythingWasUndone()
    {
        var clock = new FakeTimeProvider();
        var pool = PoolOfOne(clock);
        var lease = pool.Rent();
        var widget = lease.Value;
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));
        using var scopeToken = lease.Timers.Token.Register(static () => throw new InvalidOperationException("scope token"));
        using var leaseToken = lease.Token.Register(static () => throw new InvalidOperationException("lease token"));

        var failure = Assert.Throws<AggregateException>(lease.Dispose);

        Assert.Equal(["lease token", "scope token"], failure.InnerExceptions.Select(e => e.Message).Order());
        Assert.Equal(0, widget.ListenerCount);
        Assert.Equal(1L, pool.Statistics.Returned);
    }

    /// <summary>
    /// Child-process scenario: a lease timer callback and a loop body, on the system clock, throw with no
    /// <c>TimerError</c> handler and no pool logger. Once both failures were logged (through <see cref="SafeRefsLog"/>),
    /// the lease ends and the child waits until every timer callback that started has returned: a failure rethrown as
    /// unhandled would end the process from its timer thread, or never return (exit code 3). Prints "survived".
    /// </summary>
    internal static int LeaseCallbacksThrowWithoutHandler()
    {
        var logger = new ConsoleEventIdLogger();
        SafeRefsLog.Logger = logger;
        var clock = new ReturnTrackingTimeProvider();
        var pool = Widget.PoolOfOne(new() { TimeProvider = clock });
        var lease = pool.Rent();
        lease.Timers.After(TimeSpan.FromMilliseconds(1), static () => throw new InvalidOperationException("timer"));
        lease.Timers.Loop(lease, TimeSpan.FromMilliseconds(1), static (_, _) => throw new InvalidOperationException("loop"));
        if (!logger.WaitFor(Bound, 1200, 1201))
        {
            Console.WriteLine("timed out");
            return 1;
        }

        lease.Dispose();
        if (!clock.WaitUntilNoneRuns(Bound))
        {
            Console.WriteLine("a timer callback did not return");
            return 3;
        }

        Console.WriteLine("survived");
        return 0;
    }

    // Attaches a listener directly, behind the lease (what the probe is for).
    private static void AttachBehindTheLease(Widget widget)
    {
#pragma warning disable SR1008 // deliberately untracked
        widget.Changed += static (_, _) => { };
#pragma warning restore SR1008
    }
}
