using System.Runtime.CompilerServices;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Timers;

/// <summary>The asynchronous overloads of After and Every, and the ownerless Loop.</summary>
/// <remarks>In the GC collection: one test forces a collection, which must not run beside other tests.</remarks>
[Collection(GcCollection.Name)]
public sealed class TimerScopeAsyncTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Every_AsyncLambdaWithoutToken_BindsToTheAsyncOverload_DisposeAsyncWaitsForTheWholeBody()
    {
        var clock = new FakeTimeProvider();
        var scope = new TimerScope(clock);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finished = 0;

        // Bound to Every(TimeSpan, Action) this would be an async void method: the timer would count as idle at the
        // body's first await, and DisposeAsync would complete at once.
        scope.Every(Second, async () =>
        {
            await release.Task;
            Interlocked.Increment(ref finished);
        });
        clock.Advance(Second);
        var disposed = scope.DisposeAsync().AsTask();

        Assert.False(disposed.IsCompleted);
        release.SetResult();
        await disposed.WaitAsync(Bound);
        Assert.Equal(1, Volatile.Read(ref finished));
    }

    [Fact]
    public async Task After_AsyncLambdaWithoutToken_BindsToTheAsyncOverload_TimerDisposeAsyncWaits()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var timer = scope.After(Second, async () => await release.Task);
        clock.Advance(Second);

        var disposed = timer.DisposeAsync().AsTask();

        Assert.False(disposed.IsCompleted);
        release.SetResult();
        await disposed.WaitAsync(Bound);
    }

    [Fact]
    public async Task After_AsyncBodyThrowsAfterAnAwait_ReportedToErrorWithTheTimer()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var reported = new TaskCompletionSource<TimerErrorEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        scope.Error += (_, e) => reported.TrySetResult(e);
        // The body is still waiting when the tick returns, so the failure can only come from the body's end.
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var timer = scope.After(Second, async _ =>
        {
            await resume.Task.ConfigureAwait(false);
            throw new InvalidOperationException("late");
        });

        clock.Advance(Second);
        Assert.False(reported.Task.IsCompleted);
        resume.SetResult();

        var error = await reported.Task.WaitAsync(Bound);
        Assert.Equal("late", error.Exception.Message);
        Assert.Same(timer, error.Timer);
    }

    [Fact]
    public void Every_AsyncBodyThrowsBeforeItsFirstAwait_ReportedAndKeepsItsSchedule()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var errors = new List<Exception>();
        scope.Error += (_, e) => errors.Add(e.Exception);
        scope.Every(Second, static _ => throw new InvalidOperationException("sync part"));

        clock.Advance(2 * Second);

        Assert.Equal(2, errors.Count);
        Assert.Equal(1, scope.ActiveCount);
    }

    [Fact]
    public async Task After_AsyncOneShot_StaysActiveWhileItsBodyRuns_ThenLeavesTheScope()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var timer = scope.After(Second, async _ => await release.Task);
        clock.Advance(Second);

        Assert.True(timer.IsActive);
        Assert.Equal(1, scope.ActiveCount);
        release.SetResult();
        await WaitUntilAsync(() => !timer.IsActive);
        Assert.Equal(0, scope.ActiveCount);
    }

    [Fact]
    public async Task Every_AsyncToken_CancelledWhenTheTimerIsDisposed_CancellationIsNoFailure()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var errors = new List<Exception>();
        scope.Error += (_, e) => errors.Add(e.Exception);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var timer = scope.Every(Second, async ct =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
        });
        clock.Advance(Second);
        await started.Task.WaitAsync(Bound);

        await timer.DisposeAsync().AsTask().WaitAsync(Bound);

        Assert.Empty(errors);
        Assert.False(timer.IsActive);
    }

    [Fact]
    public async Task Every_AsyncToken_CancelledWhenTheScopeIsDisposed()
    {
        var clock = new FakeTimeProvider();
        var scope = new TimerScope(clock);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = 0;
        scope.Every(Second, async ct =>
        {
            started.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref cancelled);
            }
        });
        clock.Advance(Second);
        await started.Task.WaitAsync(Bound);

        await scope.DisposeAsync().AsTask().WaitAsync(Bound);

        Assert.Equal(1, Volatile.Read(ref cancelled));
    }

    [Fact]
    public async Task Loop_Ownerless_OnlyTheScopeHoldsIt_RunsThroughCollectionsUntilDisposed()
    {
        var clock = new WeakStateTimeProvider(new FakeTimeProvider());
        var keep = new List<TimerScope>();
        var runs = new StrongBox<int>();
        var loop = StartOwnerlessLoop(clock, keep, runs);

        GcAssert.NotCollected(loop, "the scope holds an ownerless loop until it ends");
        clock.Inner.Advance(Second);
        clock.Inner.Advance(Second);

        Assert.Equal(3, runs.Value); // one run in the helper, two after the collections
        Assert.Equal(1, keep[0].ActiveCount);
        await keep[0].DisposeAsync().Bounded();
        clock.Inner.Advance(Second);
        Assert.Equal(3, runs.Value);
        GC.KeepAlive(keep);
    }

    [Fact]
    public void Loop_Ownerless_ScopeDroppedToo_IsCollected_TheClockDoesNotHoldIt()
    {
        var clock = new WeakStateTimeProvider(new FakeTimeProvider());
        var runs = new StrongBox<int>();
        var loop = StartOwnerlessLoop(clock, keep: null, runs);

        GcAssert.Collected(loop, "nothing holds the scope, and this clock holds timers' state weakly");
        clock.Inner.Advance(Second);
        Assert.Equal(1, runs.Value);
    }

    [Fact]
    public void Loop_Ownerless_Disposed_ItsBodysCapturesAreCollectedWhileTheScopeLives()
    {
        using var scope = new TimerScope(new FakeTimeProvider());
        var capture = StartCapturingLoop(scope, dispose: true);

        GcAssert.Collected(capture, "a disposed loop leaves its scope's table");
        Assert.Equal(0, scope.ActiveCount);
        GC.KeepAlive(scope);
    }

    [Fact]
    public void Loop_Ownerless_Active_ItsBodysCapturesStayAlive_Control()
    {
        using var scope = new TimerScope(new FakeTimeProvider());
        var capture = StartCapturingLoop(scope, dispose: false);

        GcAssert.NotCollected(capture, "the scope holds an active loop and its body");
        Assert.Equal(1, scope.ActiveCount);
        GC.KeepAlive(scope);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference StartCapturingLoop(TimerScope scope, bool dispose)
    {
        var captured = new object();
        var loop = scope.Loop(Second, _ =>
        {
            GC.KeepAlive(captured);
            return ValueTask.CompletedTask;
        });
        if (dispose)
        {
            loop.Dispose();
        }

        return new WeakReference(captured);
    }

    // Starts an ownerless loop in a new scope and runs it once; only a weak reference to the loop leaves this frame.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference StartOwnerlessLoop(WeakStateTimeProvider clock, List<TimerScope>? keep, StrongBox<int> runs)
    {
        var scope = new TimerScope(clock);
        keep?.Add(scope);
        var loop = scope.Loop(Second, _ =>
        {
            runs.Value++;
            return ValueTask.CompletedTask;
        });
        clock.Inner.Advance(Second);
        Assert.Equal(1, runs.Value);
        Assert.True(loop.IsActive);
        return new WeakReference(loop);
    }

    [Fact]
    public void AsyncOverloads_BadArguments_Throw()
    {
        using var scope = new TimerScope(new FakeTimeProvider());
        Assert.Throws<ArgumentNullException>(() => scope.After(Second, (Func<CancellationToken, ValueTask>)null!));
        Assert.Throws<ArgumentNullException>(() => scope.Every(Second, (Func<ValueTask>)null!));
        Assert.Throws<ArgumentNullException>(() => scope.Loop(Second, null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => scope.Every(TimeSpan.FromTicks(5_000), static _ => default));
        Assert.Throws<ArgumentOutOfRangeException>(() => scope.Loop(TimeSpan.Zero, static _ => default));
        scope.Dispose();
        Assert.Throws<ObjectDisposedException>(() => scope.Loop(Second, static _ => default));
        Assert.Throws<ObjectDisposedException>(() => scope.After(Second, static () => default));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold in time");
            await Task.Delay(1);
        }
    }
}
