using Microsoft.Extensions.Time.Testing;
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
