using Microsoft.Extensions.Time.Testing;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Timers;

/// <summary>The tick protocol (no callback starts after a close), owner timers, <c>Change</c> racing a firing and the
/// self-wait checks.</summary>
[Collection(TimerHookCollection.Name)]
public sealed class ScopedTimerTests
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public void OwnerTimer_Dispose_StopsCallbacks()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var owner = new Owner();
        var timer = scope.Every(owner, Ms, static o => o.Tick());

        clock.Advance(Ms);
        Assert.Equal(1, owner.Count);
        timer.Dispose();
        timer.Dispose();

        clock.Advance(10 * Ms);
        Assert.Equal(1, owner.Count);
        Assert.False(timer.IsActive);
    }

#if DEBUG
    // ScopedTimer.BeforeEnterHook, which these tests set, exists only in Debug builds (it would cost every tick a
    // static load): they run in the Debug run of the suite, which CI runs too.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Tick_ClosedBetweenCallbackReadAndEntry_DoesNotCallBack(bool owner)
    {
        // The close lands in the tick's window between its first read of the callback and raising the running count:
        // only the read after the entry can stop the callback.
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var target = new Owner();
        var timer = owner ? scope.Every(target, Ms, static o => o.Tick()) : scope.Every(Ms, target.Tick);
        var closedInWindow = 0;
        ScopedTimer.BeforeEnterHook = t =>
        {
            if (ReferenceEquals(t, timer))
            {
                closedInWindow++;
                t.Dispose();
            }
        };
        try
        {
            clock.Advance(Ms);
            clock.Advance(10 * Ms);
        }
        finally
        {
            ScopedTimer.BeforeEnterHook = null;
        }

        Assert.Equal(1, closedInWindow);
        Assert.Equal(0, target.Count);
        Assert.False(timer.IsActive);
        Assert.Equal(0, scope.ActiveCount);
    }

    [Fact]
    public void Tick_HookThatDoesNotClose_CallsBack_Control()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var target = new Owner();
        var timer = scope.Every(Ms, target.Tick);
        var seen = 0;
        ScopedTimer.BeforeEnterHook = t => seen += ReferenceEquals(t, timer) ? 1 : 0;
        try
        {
            clock.Advance(Ms);
        }
        finally
        {
            ScopedTimer.BeforeEnterHook = null;
        }

        Assert.Equal(1, seen);
        Assert.Equal(1, target.Count);
    }

    [Fact]
    public void Change_RacingADueOneShotFiring_ReturnsTrueAndFiresAtTheNewDueTime()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var fired = 0;
        var timer = scope.After(TimeSpan.FromSeconds(1), () => fired++);
        bool? changed = null;
        ScopedTimer.BeforeEnterHook = t =>
        {
            // The firing is dispatched; another thread pushes the timeout back before it enters (the idle timeout
            // pushed back by activity at its expiry).
            if (ReferenceEquals(t, timer) && changed is null)
            {
                changed = t.Change(TimeSpan.FromSeconds(10), Timeout.InfiniteTimeSpan);
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

        Assert.True(changed);
        Assert.Equal(1, fired); // the firing that was due still runs, as with System.Threading.Timer
        Assert.True(timer.IsActive, "the Change that returned true was consumed by the racing firing");
        Assert.Equal(1, scope.ActiveCount);
        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(1, fired);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, fired);
        Assert.False(timer.IsActive);
    }

    [Fact]
    public void Change_ToPeriodicRacingADueOneShotFiring_KeepsFiring()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var fired = 0;
        var timer = scope.After(TimeSpan.FromSeconds(1), () => fired++);
        ScopedTimer.BeforeEnterHook = t =>
        {
            if (ReferenceEquals(t, timer) && fired == 0)
            {
                Assert.True(t.Change(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2)));
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

        Assert.True(timer.IsActive);
        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(3, fired);
    }
#endif

    [Fact]
    public async Task OwnerTimer_DisposedWhileCallbackRuns_DisposeAsyncWaitsForIt()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var owner = new Owner { Entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        using var gate = new SemaphoreSlim(0);
        owner.Gate = gate;
        var timer = scope.Every(owner, Ms, static o => o.Tick());

        var advancing = Task.Run(() => clock.Advance(Ms));
        await owner.Entered.Task.WaitAsync(Wait);
        timer.Dispose();
        Assert.False(timer.IsActive);

        var idle = timer.DisposeAsync().AsTask();
        Assert.False(idle.IsCompleted);
        gate.Release();
        await advancing.WaitAsync(Wait);
        await idle.WaitAsync(Wait);
        Assert.Equal(1, owner.Count);
    }

    [Fact]
    public void Every_ScopeDisposedBeforeTheTimerIsArmed_TheTimerIsNeverArmed()
    {
        // The timer is in its scope but its ITimer not armed yet when another thread disposes the scope: the close
        // disposes the paused ITimer, and the arming that follows is refused.
        var clock = new HookedTimeProvider(new FakeTimeProvider());
        var scope = new TimerScope(clock);
        HookedTimeProvider.HookedTimer? armed = null;
        var runs = 0;
        clock.BeforeChange = t =>
        {
            armed = t;
            scope.Dispose();
        };
        var timer = scope.Every(TimeSpan.FromSeconds(1), () => runs++);
        clock.BeforeChange = null;

        clock.Inner.Advance(TimeSpan.FromSeconds(5));

        Assert.NotNull(armed);
        Assert.True(armed.IsDisposed);
        Assert.False(armed.LastChange);
        Assert.Equal(0, runs);
        Assert.False(timer.IsActive);
        Assert.Equal(0, scope.ActiveCount);
    }

    [Fact]
    public void Every_ClockThrowsInCreateTimer_ThrowsToTheCreator_NothingStaysCounted()
    {
        var clock = new HookedTimeProvider(new FakeTimeProvider()) { CreateFailure = new InvalidOperationException("clock") };
        using var scope = new TimerScope(clock);

        var ex = Assert.Throws<InvalidOperationException>(() => scope.Every(TimeSpan.FromSeconds(1), static () => { }));
        Assert.Equal("clock", ex.Message);
        Assert.Equal(0, scope.ActiveCount);

        clock.CreateFailure = null;
        var timer = scope.Every(TimeSpan.FromSeconds(1), static () => { });
        Assert.True(timer.IsActive);
        Assert.Equal(1, scope.ActiveCount);
    }

    [Fact]
    public void OwnerTimer_CreatedThroughDisposedScope_Throws()
    {
        var scope = new TimerScope(new FakeTimeProvider());
        scope.Dispose();
        var owner = new Owner();
        Assert.Throws<ObjectDisposedException>(() => scope.Every(owner, Ms, static o => o.Tick()));
    }

    private sealed class Owner
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public TaskCompletionSource? Entered { get; init; }

        public SemaphoreSlim? Gate { get; set; }

        public void Tick()
        {
            Entered?.TrySetResult();
            if (Gate is { } gate)
            {
                Assert.True(gate.Wait(Wait));
            }

            Interlocked.Increment(ref _count);
        }
    }

    [Fact]
    public void Change_OnAOneShotTimerThatHasFired_ReturnsFalse()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var timer = scope.After(TimeSpan.FromSeconds(1), static () => { });
        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.False(timer.IsActive);
        Assert.False(timer.Change(TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan));
    }

    [Fact]
    public async Task DisposeAsync_InsideTheTimersOwnCallback_FaultsWithInvalidOperation()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        Task? ownDispose = null;
        Task? scopeDispose = null;
        ScopedTimer? timer = null;
        timer = scope.Every(TimeSpan.FromSeconds(1), () =>
        {
            ownDispose = timer!.DisposeAsync().AsTask();
            scopeDispose = scope.DisposeAsync().AsTask();
        });

        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.IsType<InvalidOperationException>(ownDispose!.Exception?.InnerException);
        Assert.IsType<InvalidOperationException>(scopeDispose!.Exception?.InnerException);
        Assert.False(timer.IsActive);
        Assert.True(scope.IsDisposed);
        await scope.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)); // outside the callback, after it returned
    }

    [Fact]
    public void DisposeAsync_InsideTheLoopsOwnBody_FaultsWithInvalidOperation()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var owner = new object();
        Task? ownDispose = null;
        ScopedLoop? loop = null;
        loop = scope.Loop(owner, TimeSpan.FromSeconds(1), (_, _) =>
        {
            ownDispose = loop!.DisposeAsync().AsTask();
            return default;
        });

        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.IsType<InvalidOperationException>(ownDispose!.Exception?.InnerException);
        Assert.True(loop.Completion.IsCompleted);
    }

    [Fact]
    public async Task DisposeAsync_TheLastCallbackLeavesBeforeTheWaiterIsPublished_StillCompletes()
    {
        // The running callback returns in DisposeAsync's window between its first read of the running count and the
        // publish of its waiter: that callback's exit finds no waiter, so only the read after the publish completes it.
        using var held = new HeldCallback();
        var leftInWindow = 0;
        ScopedTimer.BeforeIdlePublishHook = t =>
        {
            if (ReferenceEquals(t, held.Timer) && Interlocked.Increment(ref leftInWindow) == 1)
            {
                held.Release();
            }
        };
        Task disposed;
        try
        {
            disposed = held.Timer.DisposeAsync().AsTask();
        }
        finally
        {
            ScopedTimer.BeforeIdlePublishHook = null;
        }

        await disposed.Bounded();
        Assert.Equal(1, leftInWindow);
    }

    [Fact]
    public async Task DisposeAsync_TheLastCallbackLeavesAfterTheWaiterIsPublished_Completes_Control()
    {
        using var held = new HeldCallback();

        var disposed = held.Timer.DisposeAsync().AsTask();

        Assert.False(disposed.IsCompleted); // it waits for the held callback
        held.Release();
        await disposed.Bounded();
    }

    /// <summary>A periodic timer on a fake clock whose first callback runs, held, on a thread of its own; disposed.</summary>
    private sealed class HeldCallback : IDisposable
    {
        private readonly ManualResetEventSlim _entered = new();
        private readonly ManualResetEventSlim _release = new();
        private readonly Thread _advancer;
        private readonly TimerScope _scope;

        public HeldCallback()
        {
            var clock = new FakeTimeProvider();
            _scope = new TimerScope(clock);
            Timer = _scope.Every(Ms, () =>
            {
                _entered.Set();
                _release.WaitBounded();
            });
            _advancer = new Thread(() => clock.Advance(Ms)) { IsBackground = true };
            _advancer.Start();
            _entered.WaitBounded();
            Timer.Dispose();
        }

        public ScopedTimer Timer { get; }

        /// <summary>Lets the held callback return, and waits until its thread has left the timer.</summary>
        public void Release()
        {
            _release.Set();
            _advancer.JoinBounded();
        }

        public void Dispose()
        {
            _release.Set();
            _advancer.Join(Wait);
            _scope.Dispose();
            _entered.Dispose();
            _release.Dispose();
        }
    }
}
