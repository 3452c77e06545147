using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Timers;

public sealed class ScopedLoopTests
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    [Fact]
    public void Loop_RunsBodyEachIntervalAfterPreviousBody()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var owner = new Owner();
        var loop = scope.Loop(owner, 10 * Ms, static (o, _) =>
        {
            o.Count++;
            return default;
        });
        Assert.Equal(1, scope.ActiveCount);
        clock.Advance(9 * Ms);
        Assert.Equal(0, owner.Count);
        for (var i = 0; i < 5; i++)
        {
            clock.Advance(10 * Ms);
        }

        Assert.Equal(5, owner.Count);
        Assert.True(loop.IsActive);
        Assert.False(loop.Completion.IsCompleted);
    }

    [Fact]
    public Task Loop_AsyncBody_NextIntervalStartsAfterBodyFinishes()
    {
        // On a thread-pool thread (no SynchronizationContext) the body's continuation runs inline in SetResult, so the
        // loop re-arms before SetResult returns and the fake clock sees it deterministically.
        return Task.Run(async () =>
        {
            var clock = new FakeTimeProvider();
            using var scope = new TimerScope(clock);
            var owner = new Owner();
            var loop = scope.Loop(owner, 10 * Ms, static async (o, _) =>
            {
                o.Count++;
                await o.Gate.Task.ConfigureAwait(false);
            });
            clock.Advance(10 * Ms);
            Assert.Equal(1, owner.Count);
            clock.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(1, owner.Count); // no overlap while the body is pending
            var released = owner.Gate;
            owner.Gate = new TaskCompletionSource();
            released.SetResult();
            clock.Advance(9 * Ms);
            Assert.Equal(1, owner.Count); // the interval restarted when the body finished
            clock.Advance(Ms);
            Assert.Equal(2, owner.Count);
            owner.Gate.SetResult();
            await loop.DisposeAsync().Bounded();
            Assert.True(loop.Completion.IsCompletedSuccessfully);
        });
    }

    [Fact]
    public async Task Dispose_CancelsBodyTokenAndCompletes()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var owner = new Owner();
        var loop = scope.Loop(owner, 10 * Ms, static async (o, ct) =>
        {
            o.Count++;
            await Task.Delay(Timeout.InfiniteTimeSpan, ct).ConfigureAwait(false);
        });
        clock.Advance(10 * Ms);
        Assert.Equal(1, owner.Count);
        loop.Dispose();
        Assert.False(loop.IsActive);
        Assert.Equal(0, scope.ActiveCount);
        await loop.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        loop.Dispose();
    }

    [Fact]
    public async Task ScopeDispose_EndsLoop()
    {
        var clock = new FakeTimeProvider();
        var scope = new TimerScope(clock);
        var owner = new Owner();
        var loop = scope.Loop(owner, 10 * Ms, static (o, _) =>
        {
            o.Count++;
            return default;
        });
        clock.Advance(10 * Ms);
        await scope.DisposeAsync().Bounded();
        await loop.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, owner.Count);
        Assert.False(loop.IsActive);
    }

    [Fact]
    public void BodyThrows_ReportedAndLoopContinues()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var errors = new List<TimerErrorEventArgs>();
        scope.Error += (_, e) => errors.Add(e);
        var owner = new Owner();
        var loop = scope.Loop(owner, 10 * Ms, static (o, _) =>
        {
            o.Count++;
            throw new InvalidOperationException("body");
        });
        for (var i = 0; i < 3; i++)
        {
            clock.Advance(10 * Ms);
        }

        Assert.Equal(3, owner.Count);
        Assert.Equal(3, errors.Count);
        Assert.All(errors, e => Assert.Same(loop, e.Loop));
        Assert.All(errors, e => Assert.Null(e.Timer));
    }

    [Fact]
    public void BodyThrows_NoHandler_LoggedAs1201_AndTheLoopContinues()
    {
        var clock = new FakeTimeProvider();
        var logger = new FakeLogger();
        using var scope = new TimerScope(clock) { Logger = logger };
        var owner = new Owner();
        var loop = scope.Loop(owner, 10 * Ms, static (_, _) => ValueTask.FromException(new InvalidOperationException("async")));
        clock.Advance(10 * Ms);
        clock.Advance(10 * Ms);
        Assert.Equal([1201, 1201], logger.Collector.GetSnapshot().Select(r => r.Id.Id));
        Assert.True(loop.IsActive);
        GC.KeepAlive(owner);
    }

    [Fact]
    public async Task Loop_SystemClock_SlowAsyncBody_IterationsNeverOverlap()
    {
        using var scope = new TimerScope(TimeProvider.System);
        var owner = new OverlapProbe();
        var loop = scope.Loop(owner, Ms, static async (o, ct) =>
        {
            o.Enter();
            await Task.Delay(3 * Ms, ct).ConfigureAwait(false);   // longer than the interval
            o.Exit();
        });
        await owner.Done.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await loop.DisposeAsync().Bounded();
        Assert.Equal(1, owner.MaxConcurrent);
        Assert.True(loop.Completion.IsCompletedSuccessfully);
        GC.KeepAlive(owner);
    }

    private sealed class OverlapProbe
    {
        private int _running;
        private int _max;
        private int _runs;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int MaxConcurrent => Volatile.Read(ref _max);

        public void Enter()
        {
            var now = Interlocked.Increment(ref _running);
            int max;
            while (now > (max = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, now, max) != max)
            {
            }
        }

        public void Exit()
        {
            Interlocked.Decrement(ref _running);
            if (Interlocked.Increment(ref _runs) == 20)
            {
                Done.TrySetResult();
            }
        }
    }

    private sealed class Owner
    {
        public int Count { get; set; }
        // Continuations run inline on SetResult, so the loop schedules its next delay before SetResult returns.
        public TaskCompletionSource Gate { get; set; } = new();

    }
}
