using Microsoft.Extensions.Time.Testing;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Timers;

/// <summary>
/// <c>DisposeAsync</c> called inside the callback or body it would wait for faults with
/// <see cref="InvalidOperationException"/> instead of never completing, also after an <see langword="await"/> of an
/// asynchronous body (which resumes on another thread).
/// </summary>
public sealed class OwnCallbackDisposeAsyncTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Due = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task TimerDisposeAsync_InsideItsAsyncBodyAfterAnAwait_Faults()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var probe = new Probe();
        ScopedTimer? timer = null;
        timer = scope.After(Due, async _ =>
        {
            await probe.Resume.Task.ConfigureAwait(false);
            probe.Record(timer!.DisposeAsync());
        });

        await probe.RunAsync(clock);

        Assert.IsType<InvalidOperationException>(probe.Fault);
        await timer.DisposeAsync().AsTask().WaitAsync(Bound); // from outside, it completes once the body returned
    }

    [Fact]
    public async Task ScopeDisposeAsync_InsideAnAsyncTimerBodyAfterAnAwait_Faults()
    {
        var clock = new FakeTimeProvider();
        var scope = new TimerScope(clock);
        var probe = new Probe();
        scope.Every(Due, async _ =>
        {
            await probe.Resume.Task.ConfigureAwait(false);
            probe.Record(scope.DisposeAsync());
        });

        await probe.RunAsync(clock);

        Assert.IsType<InvalidOperationException>(probe.Fault);
        await scope.DisposeAsync().AsTask().WaitAsync(Bound);
    }

    [Fact]
    public async Task ParentScopeDisposeAsync_InsideAChildsAsyncTimerBodyAfterAnAwait_Faults()
    {
        var clock = new FakeTimeProvider();
        var parent = new TimerScope(clock);
        var child = parent.CreateChild();
        var probe = new Probe();
        child.After(Due, async _ =>
        {
            await probe.Resume.Task.ConfigureAwait(false);
            probe.Record(parent.DisposeAsync());
        });

        await probe.RunAsync(clock);

        Assert.IsType<InvalidOperationException>(probe.Fault);
        await parent.DisposeAsync().AsTask().WaitAsync(Bound);

        // A parent holds its children weakly: without this, a collection during the test (other tests collect) may
        // retire the child, and the parent then has nothing of it to wait for.
        GC.KeepAlive(child);
    }

    [Fact]
    public async Task LoopDisposeAsync_InsideItsBodyAfterAnAwait_Faults()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var probe = new Probe();
        ScopedLoop? loop = null;
        loop = scope.Loop(Due, async _ =>
        {
            await probe.Resume.Task.ConfigureAwait(false);
            probe.Record(loop!.DisposeAsync());
        });

        await probe.RunAsync(clock);

        Assert.IsType<InvalidOperationException>(probe.Fault);
        await loop.Completion.WaitAsync(Bound);
    }

    // When the close itself throws (a token callback), DisposeAsync would rethrow once idle, which inside the callback it
    // waits for is never: it faults at once, the close's failure inside.
    [Fact]
    public async Task ScopeDisposeAsync_InsideItsOwnCallback_ATokenCallbackThrows_FaultsAtOnceWithTheFailureInside()
    {
        var clock = new FakeTimeProvider();
        var scope = new TimerScope(clock);
        using var registration = scope.Token.Register(static () => throw new InvalidOperationException("token callback"));
        var probe = new Probe();
        scope.After(Due, async _ =>
        {
            await probe.Resume.Task.ConfigureAwait(false);
            probe.Record(scope.DisposeAsync());
        });

        await probe.RunAsync(clock);

        AssertFaultedWithTheCloseFailureInside(probe);
        await scope.DisposeAsync().AsTask().WaitAsync(Bound); // from outside, once the callback returned
    }

    [Fact]
    public async Task TimerDisposeAsync_InsideItsAsyncBody_ATokenCallbackThrows_FaultsAtOnceWithTheFailureInside()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var probe = new Probe();
        ScopedTimer? timer = null;
        timer = scope.After(Due, async ct =>
        {
            await probe.Resume.Task.ConfigureAwait(false);
            using var registration = ct.Register(static () => throw new InvalidOperationException("token callback"));
            probe.Record(timer!.DisposeAsync());
        });

        await probe.RunAsync(clock);

        AssertFaultedWithTheCloseFailureInside(probe);
        await timer.DisposeAsync().AsTask().WaitAsync(Bound);
    }

    [Fact]
    public async Task LoopDisposeAsync_InsideItsBody_ATokenCallbackThrows_FaultsAtOnceWithTheFailureInside()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var probe = new Probe();
        ScopedLoop? loop = null;
        loop = scope.Loop(Due, async ct =>
        {
            await probe.Resume.Task.ConfigureAwait(false);
            using var registration = ct.Register(static () => throw new InvalidOperationException("token callback"));
            probe.Record(loop!.DisposeAsync()); // threw out of DisposeAsync itself
        });

        await probe.RunAsync(clock);

        AssertFaultedWithTheCloseFailureInside(probe);
        await loop.Completion.WaitAsync(Bound);
    }

    [Fact]
    public async Task LoopDisposeAsync_FromOutside_ATokenCallbackThrows_FaultsOnlyOnceTheBodyHasFinished()
    {
        // Control of the above: from outside, the failure waits for the running body, and DisposeAsync never throws
        // synchronously.
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loop = scope.Loop(Due, async ct =>
        {
            using var registration = ct.Register(static () => throw new InvalidOperationException("token callback"));
            entered.TrySetResult();
            await release.Task.ConfigureAwait(false);
        });
        clock.Advance(Due);
        await entered.Task.WaitAsync(Bound);

        var disposing = loop.DisposeAsync().AsTask(); // threw here, synchronously

        Assert.False(disposing.IsCompleted);
        release.SetResult();
        var thrown = await Assert.ThrowsAsync<AggregateException>(() => disposing.WaitAsync(Bound));
        Assert.Equal("token callback", Assert.Single(thrown.InnerExceptions).Message);
        Assert.True(loop.Completion.IsCompletedSuccessfully);
    }

    // The own-callback check used to read the busy members the first disposal lists only after its close phase: while
    // another thread's first Dispose was still closing (held here in the clock's ITimer.Dispose), the DisposeAsync
    // completed instead of faulting, and an async body awaiting it would have waited for itself forever. The callback
    // only records the task, so that the test cannot hang. Also for a callback of a child scope.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ScopeDisposeAsync_InOwnCallbackWhileAnotherThreadsDisposeIsStillClosing_Faults(bool inChild)
    {
        var clock = new HookedTimeProvider(new FakeTimeProvider());
        var scope = new TimerScope(clock);
        var owner = inChild ? scope.CreateChild() : scope;
        using var inClock = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        using var entered = new ManualResetEventSlim();
        var held = 0;
        owner.After(TimeSpan.FromHours(1), static () => { });
        Task? disposing = null;
        owner.After(Due, () =>
        {
            entered.Set();
            inClock.WaitBounded();
            disposing = scope.DisposeAsync().AsTask();
        });
        clock.BeforeDispose = _ =>
        {
            if (Interlocked.Exchange(ref held, 1) == 0)
            {
                inClock.Set();
                release.Wait(TestTimeouts.Bound);
            }
        };
        var advance = Task.Run(() => clock.Inner.Advance(Due));
        entered.WaitBounded();
        var first = Task.Run(scope.Dispose);
        await advance.Bounded();
        release.Set();
        await first.Bounded();
        Assert.NotNull(disposing);
        await Assert.ThrowsAsync<InvalidOperationException>(() => disposing.Bounded());
    }

    [Fact]
    public async Task TimerDisposeAsync_FromAnotherTimersAsyncBody_WaitsInsteadOfFaulting()
    {
        // Control: only the own callback is refused; another timer's body may wait for this one.
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var probe = new Probe();
        var other = scope.After(TimeSpan.FromHours(1), static () => { });
        scope.After(Due, async _ =>
        {
            await probe.Resume.Task.ConfigureAwait(false);
            probe.Record(other.DisposeAsync());
        });

        await probe.RunAsync(clock);

        Assert.Null(probe.Fault);
        Assert.True(probe.Completed);
    }

    private static void AssertFaultedWithTheCloseFailureInside(Probe probe)
    {
        var fault = Assert.IsType<InvalidOperationException>(probe.Fault);
        var failures = Assert.IsType<AggregateException>(fault.InnerException);
        Assert.Equal("token callback", Assert.Single(failures.Flatten().InnerExceptions).Message);
    }

    /// <summary>Runs a timer body past its first await on another thread and records what its DisposeAsync returned
    /// (without awaiting it: a wait for itself would never end).</summary>
    internal sealed class Probe
    {
        private readonly TaskCompletionSource _recorded = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Resume { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Exception? Fault { get; private set; }

        public bool Completed { get; private set; }

        public void Record(ValueTask disposing)
        {
            Completed = disposing.IsCompleted;
            Fault = disposing.IsFaulted ? disposing.AsTask().Exception!.InnerException : null;
            _recorded.SetResult();
        }

        /// <summary>Fires the timer (its body stops at the await), then lets the body go on on a thread-pool thread.</summary>
        public async Task RunAsync(FakeTimeProvider clock)
        {
            clock.Advance(Due);
            Resume.SetResult();
            await _recorded.Task.WaitAsync(Bound);
        }
    }
}
