using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Timers;

/// <summary>The disposal promises of scopes and loops, each at the window that used to break it.</summary>
public sealed class TimerScopePromiseTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task LoopDisposeAsync_NextIntervalFiresBeforeTheFinishedBodyIsMarkedDone_WaitsForTheNextBody()
    {
        var clock = new HookedTimeProvider(new FakeTimeProvider());
        using var scope = new TimerScope(clock);
        var secondBody = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var owner = new object();
        var bodies = 0;
        var fired = false;
        var loop = scope.Loop(owner, Second, async (_, _) =>
        {
            if (Interlocked.Increment(ref bodies) == 2)
            {
                await secondBody.Task.ConfigureAwait(false);
            }
        });

        // The first body's re-arm is followed at once by the next tick (the interval elapsed before the thread that
        // finished the first body went on): the second body starts and stays running.
        clock.OnChange = (timer, due) =>
        {
            if (Volatile.Read(ref bodies) == 1 && !fired && due == Second)
            {
                fired = true;
                timer.Fire();
            }
        };
        clock.Inner.Advance(Second);
        Assert.Equal(2, bodies);

        var disposed = loop.DisposeAsync().AsTask();
        var scopeDisposed = scope.DisposeAsync().AsTask();
        Assert.False(disposed.IsCompleted, "DisposeAsync completed while the second body ran");
        Assert.False(loop.Completion.IsCompleted);
        Assert.False(scopeDisposed.IsCompleted);

        secondBody.SetResult();
        await Task.WhenAll(disposed, scopeDisposed).WaitAsync(Bound);
        Assert.Equal(2, bodies);
    }

    [Fact]
    public async Task DisposeAsync_CalledTwice_BothWaitForTheRunningCallback()
    {
        var clock = new FakeTimeProvider();
        var scope = new TimerScope(clock);
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        scope.Every(Second, () =>
        {
            entered.Set();
            release.Wait(Bound);
        });
        var advance = Task.Run(() => clock.Advance(Second));
        Assert.True(entered.Wait(Bound));

        var first = scope.DisposeAsync().AsTask();
        var second = scope.DisposeAsync().AsTask();
        var third = ((IAsyncDisposable)scope).DisposeAsync().AsTask();

        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted, "the second DisposeAsync completed while the callback ran");
        Assert.False(third.IsCompleted);
        release.Set();
        await Task.WhenAll(first, second, third, advance).WaitAsync(Bound);
    }

    [Fact]
    public async Task DisposeAsync_AfterASynchronousDispose_WaitsForTheCallbackThatRanAtTheDispose()
    {
        var clock = new FakeTimeProvider();
        var scope = new TimerScope(clock);
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        scope.After(Second, () =>
        {
            entered.Set();
            release.Wait(Bound);
        });
        var advance = Task.Run(() => clock.Advance(Second));
        Assert.True(entered.Wait(Bound));

        var first = scope.DisposeAsync().AsTask();
        scope.Dispose();
        var second = scope.DisposeAsync().AsTask();

        Assert.False(second.IsCompleted);
        release.Set();
        await Task.WhenAll(first, second, advance).WaitAsync(Bound);
    }

    [Fact]
    public async Task DisposeAsync_OnAnotherThreadWhileTheFirstDisposeIsStillClosing_WaitsForTheRunningCallback()
    {
        var clock = new FakeTimeProvider();
        var scope = new TimerScope(clock);
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        scope.After(Second, () =>
        {
            entered.Set();
            release.Wait(Bound);
        });

        // A CancelAfter token is cancelled inside the first disposal's close of its members: from there, another thread
        // calls DisposeAsync, which must wait for what the first disposal waits for.
        Task? second = null;
        using var registration = scope.CancelAfter(Second * 10).Register(() =>
        {
            var call = Task.Factory.StartNew(() => scope.DisposeAsync().AsTask(), CancellationToken.None, TaskCreationOptions.None, TaskScheduler.Default);
            Assert.True(call.Wait(Bound));
            second = call.Result;
        });
        var advance = Task.Run(() => clock.Advance(Second));
        Assert.True(entered.Wait(Bound));

        scope.Dispose();

        Assert.NotNull(second);
        Assert.False(second.IsCompleted, "a DisposeAsync concurrent with the first disposal completed while a callback ran");
        release.Set();
        await Task.WhenAll(second, advance).WaitAsync(Bound);
    }

    [Fact]
    public async Task Dispose_SecondCallWhileTheFirstIsStillClosing_NoCallbackOrBodyStartsAfterItReturned()
    {
        var clock = new HookedTimeProvider(new FakeTimeProvider());
        var armed = new List<HookedTimeProvider.HookedTimer>();
        clock.OnChange = (timer, _) => armed.Add(timer);
        var scope = new TimerScope(clock);
        var child = scope.CreateChild();
        var started = 0;
        scope.After(Second, () => Interlocked.Increment(ref started));
        scope.After(Second, () => Interlocked.Increment(ref started));
        scope.Loop(Second, _ =>
        {
            Interlocked.Increment(ref started);
            return ValueTask.CompletedTask;
        });
        child.Every(Second, () => Interlocked.Increment(ref started));

        // The first disposal is held inside the clock's Dispose of the first timer (user code), before it reached the
        // other members; a second Dispose on this thread returns meanwhile.
        var (first, release) = HoldFirstDispose(clock, scope);
        using var releasing = release;
        scope.Dispose();

        // Ticks of everything the first disposal has not closed yet, after a Dispose returned.
        var pending = armed.Where(static timer => !timer.IsDisposed).ToList();
        Assert.Equal(3, pending.Count);
        foreach (var timer in pending)
        {
            timer.Fire();
        }

        release.Set();
        await first.WaitAsync(Bound);
        Assert.Equal(0, Volatile.Read(ref started));
        GC.KeepAlive(child);
    }

    [Fact]
    public async Task Delay_FallsDueAfterASecondDisposeReturnedWhileTheFirstIsStillClosing_EndsCancelled()
    {
        var clock = new HookedTimeProvider(new FakeTimeProvider());
        var scope = new TimerScope(clock);
        scope.After(Second, static () => { });
        var delay = scope.Delay(Second);

        // The first disposal is held inside the clock's Dispose of the timer (user code), before it reached the delay;
        // a second Dispose on this thread returns meanwhile.
        var (first, release) = HoldFirstDispose(clock, scope);
        using var releasing = release;
        scope.Dispose();

        // The delay falls due after a Dispose returned, before the first disposal closed it.
        clock.Inner.Advance(Second);
        var status = delay.Status;

        release.Set();
        await first.WaitAsync(Bound);
        Assert.Equal(TaskStatus.Canceled, status);
    }

    [Fact]
    public async Task TimerDisposeAsync_TheRunningCallbackThrows_CompletesOnlyAfterTheErrorWasReported()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        Task? disposing = null;
        bool? completedAtReport = null;
        scope.Error += (_, _) => completedAtReport = Volatile.Read(ref disposing)?.IsCompleted;
        var timer = scope.After(Second, () =>
        {
            entered.Set();
            release.Wait(Bound);
            throw new InvalidOperationException("callback failed");
        });
        var advance = Task.Run(() => clock.Advance(Second));
        Assert.True(entered.Wait(Bound));

        Volatile.Write(ref disposing, timer.DisposeAsync().AsTask());
        release.Set();
        await Task.WhenAll(disposing, advance).WaitAsync(Bound);

        Assert.False(completedAtReport, "the Error event was raised after DisposeAsync had completed");
    }

    [Fact]
    public async Task LoopDisposeAsync_TheRunningBodyThrows_CompletesOnlyAfterTheErrorWasReported()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task? disposing = null;
        bool? completedAtReport = null;
        scope.Error += (_, _) => completedAtReport = Volatile.Read(ref disposing)?.IsCompleted;
        var loop = scope.Loop(Second, async _ =>
        {
            await release.Task.ConfigureAwait(false);
            throw new InvalidOperationException("body failed");
        });
        clock.Advance(Second);

        Volatile.Write(ref disposing, loop.DisposeAsync().AsTask());
        release.SetResult();
        await disposing.WaitAsync(Bound);

        Assert.False(completedAtReport, "the Error event was raised after DisposeAsync had completed");
    }

    [Fact]
    public async Task DisposeAsync_InsideAnErrorHandlerOfTheFailingCallback_Faults()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        ScopedTimer? timer = null;
        Task? timerDisposing = null;
        Task? scopeDisposing = null;
        scope.Error += (_, _) =>
        {
            timerDisposing = timer!.DisposeAsync().AsTask();
            scopeDisposing = scope.DisposeAsync().AsTask();
        };
        timer = scope.Every(Second, static () => throw new ArithmeticException("callback failed"));

        clock.Advance(Second);

        Assert.NotNull(timerDisposing);
        Assert.NotNull(scopeDisposing);
        await Assert.ThrowsAsync<InvalidOperationException>(() => timerDisposing.WaitAsync(Bound));
        await Assert.ThrowsAsync<InvalidOperationException>(() => scopeDisposing.WaitAsync(Bound));
    }

    [Fact]
    public async Task LoopDisposeAsync_InsideAnErrorHandlerOfTheFailingBody_Faults()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        ScopedLoop? loop = null;
        Task? disposing = null;
        scope.Error += (_, _) => disposing = loop!.DisposeAsync().AsTask();
        loop = scope.Loop(Second, static _ => throw new ArithmeticException("body failed"));

        clock.Advance(Second);

        Assert.NotNull(disposing);
        await Assert.ThrowsAsync<InvalidOperationException>(() => disposing.WaitAsync(Bound));
    }

    [Fact]
    public void Dispose_ScopeTokenCallbackThrows_ThrowsToTheDisposerAfterStoppingEverything()
    {
        var clock = new FakeTimeProvider();
        var logger = new FakeLogger();
        var scope = new TimerScope(clock) { Logger = logger };
        var ticks = 0;
        scope.Every(Second, () => ticks++);
        using var registration = scope.Token.Register(static () => throw new InvalidOperationException("token"));

        var failure = Assert.Throws<AggregateException>(scope.Dispose);

        Assert.Equal("token", Assert.Single(failure.InnerExceptions).Message);
        Assert.DoesNotContain(logger.Collector.GetSnapshot(), r => r.Id.Id is 1200 or 1201);
        Assert.True(scope.IsDisposed);
        Assert.Equal(0, scope.ActiveCount);
        clock.Advance(10 * Second);
        Assert.Equal(0, ticks);
        scope.Dispose(); // the second does nothing
    }

    [Fact]
    public void Dispose_LoopTokenCallbackThrows_ThrowsToTheDisposer()
    {
        var clock = new FakeTimeProvider();
        var logger = new FakeLogger();
        var scope = new TimerScope(clock) { Logger = logger };
        var owner = new object();
        CancellationTokenRegistration registration = default;
        scope.Loop(owner, Second, (_, token) =>
        {
            registration = token.Register(static () => throw new InvalidOperationException("loop token"));
            return default;
        });
        clock.Advance(Second);

        var failure = Assert.Throws<AggregateException>(scope.Dispose);

        Assert.Equal("loop token", Assert.Single(failure.InnerExceptions).Message);
        Assert.DoesNotContain(logger.Collector.GetSnapshot(), r => r.Id.Id is 1200 or 1201);
        registration.Dispose();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5_000)]
    [InlineData(9_999)]
    public void Periods_UnderOneMillisecond_AreRejected(long ticks)
    {
        using var scope = new TimerScope(new FakeTimeProvider());
        var period = TimeSpan.FromTicks(ticks);
        var owner = new object();

        Assert.Throws<ArgumentOutOfRangeException>(() => scope.Every(period, static () => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => scope.Every(owner, period, static _ => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => scope.Every(period, static _ => default));
        Assert.Throws<ArgumentOutOfRangeException>(() => scope.Every(period, static () => default(ValueTask)));
        Assert.Throws<ArgumentOutOfRangeException>(() => scope.Loop(owner, period, static (_, _) => default));
        Assert.Throws<ArgumentOutOfRangeException>(() => scope.Loop(period, static _ => default));
        var timer = scope.After(Second, static () => { });
        Assert.Throws<ArgumentOutOfRangeException>(() => timer.Change(Second, period));
        Assert.Equal(1, scope.ActiveCount);
    }

    [Fact]
    public void Periods_OfOneMillisecond_AreAccepted()
    {
        using var scope = new TimerScope(new FakeTimeProvider());
        scope.Every(TimeSpan.FromMilliseconds(1), static () => { });
        scope.After(Second, static () => { }).Change(Second, TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, scope.ActiveCount);
    }

    /// <summary>Starts a first <see cref="TimerScope.Dispose"/> on the thread pool and holds it inside the clock's first
    /// timer <c>Dispose</c> (user code) until the returned event is set.</summary>
    private static (Task First, ManualResetEventSlim Release) HoldFirstDispose(HookedTimeProvider clock, TimerScope scope)
    {
        using var entered = new ManualResetEventSlim();
        var release = new ManualResetEventSlim();
        var held = 0;
        clock.BeforeDispose = _ =>
        {
            if (Interlocked.Exchange(ref held, 1) == 0)
            {
                entered.Set();
                release.Wait(Bound);
            }
        };
        var first = Task.Run(scope.Dispose);
        Assert.True(entered.Wait(Bound), "the first Dispose never reached the clock");
        return (first, release);
    }
}
