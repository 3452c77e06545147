using Microsoft.Extensions.Time.Testing;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Timers;

/// <summary>
/// The scope's own calls into user code other than callbacks: its logger and its clock's timers. A failure there
/// never leaves the scope half closed, never replaces the failures the disposer is owed, and never reaches a timer
/// thread.
/// </summary>
public sealed class TimerScopeUserCodeFailureTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public void Dispose_TokenCallbackAndLoggerThrow_TheDisposerGetsTheTokenCallbacksFailure()
    {
        var scope = new TimerScope(new FakeTimeProvider()) { Logger = new ThrowingLogger() };
        using var registration = scope.Token.Register(static () => throw new InvalidOperationException("token callback"));

        var thrown = Assert.Throws<AggregateException>(scope.Dispose);

        Assert.Equal("token callback", Assert.Single(thrown.InnerExceptions).Message);
    }

    [Fact]
    public async Task Dispose_TheClocksTimerDisposeThrows_EveryMemberStillClosed_DisposeAsyncCompletes()
    {
        var clock = new HookedTimeProvider(new FakeTimeProvider());
        var scope = new TimerScope(clock);
        var runs = 0;
        var first = scope.Every(Second, () => Interlocked.Increment(ref runs));
        var second = scope.Every(Second, () => Interlocked.Increment(ref runs));
        var bodies = 0;
        var loop = scope.Loop(Second, _ =>
        {
            Interlocked.Increment(ref bodies);
            return ValueTask.CompletedTask;
        });
        var loopToken = scope.Token;
        clock.DisposeFailure = new InvalidOperationException("ITimer.Dispose");

        var thrown = Assert.Throws<AggregateException>(scope.Dispose);

        Assert.Equal(3, thrown.InnerExceptions.Count(e => e.Message == "ITimer.Dispose"));
        Assert.False(first.IsActive);
        Assert.False(second.IsActive);
        Assert.True(loopToken.IsCancellationRequested);
        await scope.DisposeAsync().AsTask().WaitAsync(Bound);
        await loop.Completion.WaitAsync(Bound);
        clock.Inner.Advance(Second * 5);
        Assert.Equal(0, runs);
        Assert.Equal(0, bodies);
    }

    [Fact]
    public void TimerDispose_TheClocksTimerDisposeThrows_TheTimerIsStillClosedAndUncounted()
    {
        var clock = new HookedTimeProvider(new FakeTimeProvider());
        using var scope = new TimerScope(clock);
        var runs = 0;
        var timer = scope.Every(Second, () => runs++);
        clock.DisposeFailure = new InvalidOperationException("ITimer.Dispose");

        Assert.Equal("ITimer.Dispose", Assert.Throws<InvalidOperationException>(timer.Dispose).Message);

        clock.DisposeFailure = null;
        Assert.False(timer.IsActive);
        Assert.Equal(0, scope.ActiveCount);
        clock.Inner.Advance(Second * 3);
        Assert.Equal(0, runs);
    }

    [Fact]
    public void OneShotTick_TheClocksTimerDisposeThrowsAsTheTimerEnds_ReportedNotThrownIntoTheTimerThread()
    {
        var clock = new HookedTimeProvider(new FakeTimeProvider());
        using var scope = new TimerScope(clock);
        var errors = new List<Exception>();
        scope.Error += (_, e) => errors.Add(e.Exception);
        var runs = 0;
        var timer = scope.After(Second, () => runs++);
        clock.DisposeFailure = new InvalidOperationException("ITimer.Dispose");

        clock.Inner.Advance(Second);

        clock.DisposeFailure = null;
        Assert.Equal(1, runs);
        Assert.Equal("ITimer.Dispose", Assert.Single(errors).Message);
        Assert.False(timer.IsActive);
        Assert.Equal(0, scope.ActiveCount);
    }
}
