using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Timers;

public sealed class TimerScopeTests
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    [Fact]
    public void Constructor_NullTimeProvider_UsesSystem()
    {
        using var scope = new TimerScope();
        Assert.Same(TimeProvider.System, scope.TimeProvider);
        Assert.Equal(0, scope.ActiveCount);
    }

    [Fact]
    public void After_Due_FiresOnceAndLeavesScope()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var calls = 0;
        var timer = scope.After(10 * Ms, () => calls++);
        Assert.Equal(1, scope.ActiveCount);
        Assert.True(timer.IsActive);
        clock.Advance(9 * Ms);
        Assert.Equal(0, calls);
        clock.Advance(Ms);
        Assert.Equal(1, calls);
        Assert.Equal(0, scope.ActiveCount);
        Assert.False(timer.IsActive);
        clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, calls);
    }

    [Fact]
    public void After_ZeroDue_FiresOnFirstAdvanceOrAtOnce()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var calls = 0;
        scope.After(TimeSpan.Zero, () => calls++);
        clock.Advance(TimeSpan.Zero);
        Assert.Equal(1, calls);
        Assert.Equal(0, scope.ActiveCount);
    }

    [Fact]
    public void After_CallbackRearmsWithChange_StaysInScope()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var calls = 0;
        ScopedTimer? timer = null;
        timer = scope.After(10 * Ms, () =>
        {
            if (++calls < 3)
            {
                Assert.True(timer!.Change(10 * Ms, Timeout.InfiniteTimeSpan));
            }
        });
        clock.Advance(10 * Ms);
        Assert.Equal(1, scope.ActiveCount);
        clock.Advance(10 * Ms);
        clock.Advance(10 * Ms);
        Assert.Equal(3, calls);
        Assert.Equal(0, scope.ActiveCount);
        Assert.False(timer.Change(Ms, Ms));
    }

    [Fact]
    public void Every_Period_FiresEachPeriodUntilDisposed()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var calls = 0;
        var timer = scope.Every(10 * Ms, () => calls++);
        clock.Advance(35 * Ms);
        Assert.Equal(3, calls);
        Assert.Equal(1, scope.ActiveCount);
        timer.Dispose();
        Assert.False(timer.IsActive);
        Assert.Equal(0, scope.ActiveCount);
        clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(3, calls);
        timer.Dispose();
    }

    [Fact]
    public void Change_PausesAndResumes()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var calls = 0;
        var timer = scope.Every(10 * Ms, () => calls++);
        Assert.True(timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan));
        clock.Advance(100 * Ms);
        Assert.Equal(0, calls);
        Assert.Equal(1, scope.ActiveCount);
        Assert.True(timer.Change(5 * Ms, 5 * Ms));
        clock.Advance(20 * Ms);
        Assert.Equal(4, calls);
    }

    [Fact]
    public void Dispose_StopsEverythingAndIsIdempotent()
    {
        var clock = new FakeTimeProvider();
        var scope = new TimerScope(clock);
        var calls = 0;
        scope.Every(10 * Ms, () => calls++);
        scope.After(10 * Ms, () => calls++);
        var delay = scope.Delay(10 * Ms);
        var token = scope.CancelAfter(10 * Ms);
        var scopeToken = scope.Token;
        Assert.Equal(4, scope.ActiveCount);

        scope.Dispose();
        scope.Dispose();

        Assert.True(scope.IsDisposed);
        Assert.Equal(0, scope.ActiveCount);
        Assert.True(delay.IsCanceled);
        Assert.True(token.IsCancellationRequested);
        Assert.True(scopeToken.IsCancellationRequested);
        Assert.True(scope.Token.IsCancellationRequested);
        clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, calls);
    }

    [Fact]
    public void CreateThroughDisposedScope_Throws()
    {
        var scope = new TimerScope(new FakeTimeProvider());
        scope.Dispose();
        Assert.Throws<ObjectDisposedException>(() => scope.After(Ms, static () => { }));
        Assert.Throws<ObjectDisposedException>(() => scope.Every(Ms, static () => { }));
        Assert.Throws<ObjectDisposedException>(() => scope.Every(new object(), Ms, static _ => { }));
        Assert.Throws<ObjectDisposedException>(() => scope.After(new object(), Ms, static _ => { }));
        Assert.Throws<ObjectDisposedException>(() => scope.Loop(new object(), Ms, static (_, _) => default));
        Assert.Throws<ObjectDisposedException>(() => { _ = scope.Delay(Ms); });
        Assert.Throws<ObjectDisposedException>(() => scope.CancelAfter(Ms));
        Assert.Throws<ObjectDisposedException>(() => scope.CreateChild());
    }

    [Fact]
    public void BadInput_Throws()
    {
        using var scope = new TimerScope(new FakeTimeProvider());
        Assert.Throws<ArgumentNullException>(() => scope.After(Ms, (Action)null!));
        Assert.Throws<ArgumentNullException>(() => scope.Every(Ms, (Action)null!));
        Assert.Throws<ArgumentNullException>(() => scope.Every<object>(null!, Ms, static _ => { }));
        Assert.Throws<ArgumentNullException>(() => scope.Every<object>(new object(), Ms, null!));
        Assert.Throws<ArgumentNullException>(() => scope.After<object>(null!, Ms, static _ => { }));
        Assert.Throws<ArgumentNullException>(() => scope.Loop<object>(null!, Ms, static (_, _) => default));
        Assert.Throws<ArgumentNullException>(() => scope.Loop<object>(new object(), Ms, null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => scope.After(-2 * Ms, static () => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => scope.Every(TimeSpan.Zero, static () => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => scope.Every(-2 * Ms, static () => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => scope.Every(Timeout.InfiniteTimeSpan, static () => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => scope.Every(new object(), TimeSpan.Zero, static _ => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => scope.Loop(new object(), TimeSpan.Zero, static (_, _) => default));
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = scope.Delay(-2 * Ms); });
        Assert.Throws<ArgumentOutOfRangeException>(() => scope.CancelAfter(-2 * Ms));
        Assert.Throws<ArgumentOutOfRangeException>(() => scope.After(TimeSpan.FromDays(60), static () => { }));
        var timer = scope.After(Timeout.InfiniteTimeSpan, static () => { });
        Assert.Throws<ArgumentOutOfRangeException>(() => timer.Change(-2 * Ms, Ms));
        Assert.Throws<ArgumentOutOfRangeException>(() => timer.Change(Ms, -2 * Ms));
        Assert.Equal(1, scope.ActiveCount);
    }

    [Fact]
    public void OwnerOverload_CallbackTargetsOwner_Throws()
    {
        using var scope = new TimerScope(new FakeTimeProvider());
        var owner = new Counter();
        Assert.Throws<ArgumentException>(() => scope.Every<Counter>(owner, Ms, owner.Tick));
        Assert.Throws<ArgumentException>(() => scope.After<Counter>(owner, Ms, owner.Tick));
        Assert.Equal(0, scope.ActiveCount);
    }

    [Fact]
    public void Delay_CompletesWhenDueAndLeavesScope()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var delay = scope.Delay(10 * Ms);
        Assert.Equal(1, scope.ActiveCount);
        clock.Advance(10 * Ms);
        Assert.True(delay.IsCompletedSuccessfully);
        Assert.Equal(0, scope.ActiveCount);
        Assert.True(scope.Delay(TimeSpan.Zero).IsCompletedSuccessfully);
    }

    [Fact]
    public void Delay_TokenCancelled_EndsCancelledAndLeavesScope()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        using var cts = new CancellationTokenSource();
        var delay = scope.Delay(Timeout.InfiniteTimeSpan, cts.Token);
        cts.Cancel();
        Assert.True(delay.IsCanceled);
        Assert.Equal(0, scope.ActiveCount);
        Assert.True(scope.Delay(Ms, cts.Token).IsCanceled);
    }

    [Fact]
    public void CancelAfter_FiresAndLeavesScope()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var token = scope.CancelAfter(10 * Ms);
        var never = scope.CancelAfter(Timeout.InfiniteTimeSpan);
        Assert.Equal(2, scope.ActiveCount);
        clock.Advance(10 * Ms);
        Assert.True(token.IsCancellationRequested);
        Assert.False(never.IsCancellationRequested);
        Assert.Equal(1, scope.ActiveCount);
        var zero = scope.CancelAfter(TimeSpan.Zero);
        Assert.True(zero.IsCancellationRequested);
        Assert.Equal(1, scope.ActiveCount);
    }

    [Fact]
    public void Lifetime_Cancelled_DisposesScope()
    {
        var clock = new FakeTimeProvider();
        using var lifetime = new CancellationTokenSource();
        var scope = new TimerScope(clock, lifetime.Token);
        var calls = 0;
        scope.Every(Ms, () => calls++);
        lifetime.Cancel();
        Assert.True(scope.IsDisposed);
        clock.Advance(10 * Ms);
        Assert.Equal(0, calls);

        var born = new TimerScope(clock, lifetime.Token);
        Assert.True(born.IsDisposed);
    }

    [Fact]
    public void CreateChild_DisposedWithParent()
    {
        var clock = new FakeTimeProvider();
        var parent = new TimerScope(clock);
        var child = parent.CreateChild();
        var calls = 0;
        child.Every(Ms, () => calls++);
        Assert.Equal(0, parent.ActiveCount);
        Assert.Equal(1, child.ActiveCount);
        Assert.Same(clock, child.TimeProvider);
        parent.Dispose();
        Assert.True(child.IsDisposed);
        clock.Advance(10 * Ms);
        Assert.Equal(0, calls);
    }

    [Fact]
    public void CreateChild_ChildDisposedFirst_ParentUnaffected()
    {
        var clock = new FakeTimeProvider();
        using var parent = new TimerScope(clock);
        var child = parent.CreateChild();
        child.Dispose();
        var calls = 0;
        parent.Every(Ms, () => calls++);
        clock.Advance(2 * Ms);
        Assert.Equal(2, calls);
    }

    [Fact]
    public void Error_CallbackThrows_ReportedAndScheduleKept()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var errors = new List<TimerErrorEventArgs>();
        scope.Error += (_, e) => errors.Add(e);
        var calls = 0;
        var timer = scope.Every(10 * Ms, () =>
        {
            calls++;
            throw new InvalidOperationException("boom");
        });
        clock.Advance(30 * Ms);
        Assert.Equal(3, calls);
        Assert.Equal(3, errors.Count);
        Assert.All(errors, e => Assert.Same(timer, e.Timer));
        Assert.All(errors, e => Assert.IsType<InvalidOperationException>(e.Exception));
        Assert.True(timer.IsActive);
    }

    [Fact]
    public void Error_ChildWithoutHandler_GoesToParent()
    {
        var clock = new FakeTimeProvider();
        using var parent = new TimerScope(clock);
        var errors = 0;
        parent.Error += (_, _) => errors++;
        var child = parent.CreateChild();
        child.After(Ms, static () => throw new InvalidOperationException());
        clock.Advance(Ms);
        Assert.Equal(1, errors);
        GC.KeepAlive(child); // a parent holds its children weakly: a collection before the tick would retire the child
    }

    [Fact]
    public void Error_NoHandler_LoggedAndCounted_TimerKeepsItsSchedule()
    {
        var clock = new FakeTimeProvider();
        var logger = new FakeLogger();
        using var meterFactory = new TestMeterFactory();
        using var failures = new MetricCollector<long>(meterFactory, "SafeRefs", "saferefs.timer.callback.failures");
        using var scope = new TimerScope(clock) { Logger = logger, Name = "jobs", MeterFactory = meterFactory };
        var ticks = 0;
        scope.Every(Ms, () =>
        {
            ticks++;
            throw new InvalidOperationException("unhandled");
        });

        clock.Advance(2 * Ms); // threw out of Advance when a failure without a handler was rethrown

        Assert.Equal(2, ticks);
        Assert.Equal(1, scope.ActiveCount);
        Assert.Equal([1200, 1200], logger.Collector.GetSnapshot().Select(r => r.Id.Id));
        Assert.Equal("unhandled", logger.Collector.LatestRecord.Exception?.Message);
        Assert.Equal(2, failures.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal("jobs", failures.LastMeasurement?.Tags["saferefs.timer.scope.name"]);
        Assert.Equal("timer", failures.LastMeasurement?.Tags["saferefs.callback.kind"]);
    }

    [Fact]
    public void Error_NoHandlerNoLogger_OneShotNotRethrown_LeavesTheScope()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var timer = scope.After(Ms, static () => throw new InvalidOperationException("escaped"));

        clock.Advance(Ms); // threw out of Advance when a failure without a handler was rethrown

        Assert.False(timer.IsActive);
        Assert.Equal(0, scope.ActiveCount);
    }

    [Fact]
    public void Error_HandlerThrows_LoggedAs1203AndCounted_NotPropagated()
    {
        var clock = new FakeTimeProvider();
        var logger = new FakeLogger();
        using var meterFactory = new TestMeterFactory();
        using var failures = new MetricCollector<long>(meterFactory, "SafeRefs", "saferefs.timer.callback.failures");
        using var scope = new TimerScope(clock) { Logger = logger, Name = "jobs", MeterFactory = meterFactory };
        scope.Error += static (_, _) => throw new InvalidOperationException("handler");
        scope.Every(Ms, static () => throw new InvalidOperationException("callback"));

        clock.Advance(2 * Ms);

        Assert.Equal([1200, 1203, 1200, 1203], logger.Collector.GetSnapshot().Select(r => r.Id.Id));
        Assert.Equal(1, scope.ActiveCount);
        var handlerFailures = failures.GetMeasurementSnapshot().Where(m => (string?)m.Tags["saferefs.callback.kind"] == "error handler").ToList();
        Assert.Equal(2, handlerFailures.Sum(m => m.Value));
        Assert.All(handlerFailures, m => Assert.Equal("jobs", m.Tags["saferefs.timer.scope.name"]));
    }

    [Fact]
    public void Error_NoHandlerAnywhere_TheProcessSurvives()
    {
        var (exitCode, output) = ChildProcess.Run("timer-scope-callbacks-throw-without-handler", TimeSpan.FromSeconds(60));
        Assert.True(exitCode == 0, $"the child exited with {exitCode}: {output}");
        Assert.Contains("event 1200 InvalidOperationException", output, StringComparison.Ordinal);
        Assert.Contains("event 1201 InvalidOperationException", output, StringComparison.Ordinal);
        Assert.Contains("survived", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // control: the same lifetime on a timer thread, nothing throws
    public void Lifetime_CancelAfterOnTheSystemClock_ATokenCallbackThrows_ReportedAndTheProcessSurvives(bool tokenCallbackThrows)
    {
        var scenario = tokenCallbackThrows
            ? "timer-scope-lifetime-cancel-after-token-callback-throws"
            : "timer-scope-lifetime-cancel-after-token-callback-returns";

        var (exitCode, output) = ChildProcess.Run(scenario, TimeSpan.FromSeconds(60));

        Assert.True(exitCode == 0, $"the child exited with {exitCode}: {output}");
        Assert.Contains(tokenCallbackThrows ? "reported" : "not reported", output, StringComparison.Ordinal);
        Assert.Contains("survived", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Callbacks_DoNotSeeCallerAsyncLocal()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var local = new AsyncLocal<string?>();
        string? seen = "unset";
        local.Value = "caller";
        _ = scope.After(Ms, () => seen = local.Value);
        local.Value = null;
        var system = new TimerScope();
        var seenBySystem = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        local.Value = "caller";
        system.After(Ms, () => seenBySystem.TrySetResult(local.Value));
        local.Value = null;
        clock.Advance(Ms);
        Assert.Null(seen);
        Assert.Null(await seenBySystem.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        system.Dispose();
    }

    [Fact]
    public async Task DisposeAsync_WaitsForRunningCallback()
    {
        var clock = new FakeTimeProvider();
        var scope = new TimerScope(clock);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var gate = new SemaphoreSlim(0);
        var finished = 0;
        scope.Every(10 * Ms, () =>
        {
            entered.TrySetResult();
            Assert.True(gate.Wait(TimeSpan.FromSeconds(30)));
            Volatile.Write(ref finished, 1);
        });
        var advancing = Task.Run(() => clock.Advance(10 * Ms));
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var disposing = scope.DisposeAsync().AsTask();
        Assert.False(disposing.IsCompleted);
        Assert.Equal(0, scope.ActiveCount);

        gate.Release();
        await disposing.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, Volatile.Read(ref finished));
        await advancing.WaitAsync(TimeSpan.FromSeconds(10));
        await scope.DisposeAsync().Bounded();
    }

    [Fact]
    public async Task ScopedTimerDisposeAsync_WaitsForRunningCallback()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        using var gate = new SemaphoreSlim(0);
        var (timer, advancing) = await StartBlockedOneShotAsync(scope, clock, gate);
        var disposing = timer.DisposeAsync().AsTask();
        Assert.False(disposing.IsCompleted);
        gate.Release();
        await disposing.WaitAsync(TimeSpan.FromSeconds(10));
        await advancing.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, scope.ActiveCount);
    }

    [Fact]
    public async Task DisposeAsync_WaitsForCallbackOfTimerDisposedWhileRunning_EvenAfterChurn()
    {
        var clock = new FakeTimeProvider();
        var scope = new TimerScope(clock);
        using var gate = new SemaphoreSlim(0);
        var (timer, advancing) = await StartBlockedOneShotAsync(scope, clock, gate);

        // Ended but still running: neither the next timer nor a full-table sweep may take its slot.
        timer.Dispose();
        for (var i = 0; i < 100; i++)
        {
            scope.Every(Ms, static () => { }).Dispose();
        }

        var disposing = scope.DisposeAsync().AsTask();
        Assert.False(disposing.IsCompleted);
        gate.Release();
        await disposing.WaitAsync(TimeSpan.FromSeconds(10));
        await advancing.WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>Starts a one-shot timer whose callback blocks on <paramref name="gate"/>, fires it on another thread
    /// and returns once the callback is running.</summary>
    private static async Task<(ScopedTimer Timer, Task Advancing)> StartBlockedOneShotAsync(TimerScope scope, FakeTimeProvider clock, SemaphoreSlim gate)
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var timer = scope.After(10 * Ms, () =>
        {
            entered.TrySetResult();
            Assert.True(gate.Wait(TimeSpan.FromSeconds(30)));
        });
        var advancing = Task.Run(() => clock.Advance(10 * Ms));
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        return (timer, advancing);
    }

    private sealed class Counter
    {
        public int Count { get; private set; }

        public void Tick(Counter self) => Count++;
    }
}
