using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Diagnostics;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Timers;

/// <summary>
/// What an ordinary disposal of a scope reports: a token callback's failure is logged once (1202), to the scope's
/// <see cref="TimerScope.Logger"/> or else to <see cref="SafeRefsLog.Logger"/>, also when it is a child's; an
/// asynchronous body cancelled by the disposal (through a <c>CancelAfter</c> token of the scope it awaits) is no failure.
/// </summary>
[Collection(GcCollection.Name)] // SafeRefsLog.Logger is process-wide: no parallel test may swap it meanwhile.
public sealed class TimerScopeDisposalReportingTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)] // control: with a scope logger it was always logged
    public void Dispose_ATokenCallbackThrows_Logged1202Once_WithOrWithoutAScopeLogger(bool scopeLogger)
    {
        const string Message = "token callback of Dispose_ATokenCallbackThrows_Logged1202Once";
        var global = new FakeLogger();
        var own = new FakeLogger();
        var previous = SafeRefsLog.Logger;
        SafeRefsLog.Logger = global;
        try
        {
            var scope = new TimerScope(new FakeTimeProvider()) { Logger = scopeLogger ? own : null };
            using var registration = scope.Token.Register(static () => throw new InvalidOperationException(Message));

            Assert.Throws<AggregateException>(scope.Dispose);

            Assert.Equal(1, Count1202(scopeLogger ? own : global, Message)); // parallel tests may log to the global one: filtered
        }
        finally
        {
            SafeRefsLog.Logger = previous;
        }
    }

    [Fact]
    public void Dispose_AChildsTokenCallbackThrows_TheParentsDisposerGetsIt_Logged1202Once()
    {
        var logger = new FakeLogger();
        var parent = new TimerScope(new FakeTimeProvider()) { Logger = logger };
        var child = parent.CreateChild(); // starts with the parent's logger
        using var registration = child.Token.Register(static () => throw new InvalidOperationException("child token callback"));

        var thrown = Assert.Throws<AggregateException>(parent.Dispose);

        Assert.Equal("child token callback", Assert.Single(thrown.InnerExceptions).Message);
        Assert.Equal(1, Count1202(logger, "child token callback"));
        GC.KeepAlive(child);
    }

    // timeoutFirst = false is the control twin: the body waits on its own token, cancelled when the item closes.
    [Theory]
    [InlineData("timer", true)]
    [InlineData("loop", true)]
    [InlineData("timer", false)]
    [InlineData("loop", false)]
    public async Task Dispose_AnAsyncBodyAwaitsACancelAfterTokenOfTheScope_ItsCancellationIsNoFailure(string item, bool timeoutFirst)
    {
        var clock = new FakeTimeProvider();
        var scope = new TimerScope(clock);
        var errors = new List<string>();
        scope.Error += (_, e) => errors.Add($"{e.Exception.GetType().Name}: {e.Exception.Message}");
        var timeout = timeoutFirst ? scope.CancelAfter(TimeSpan.FromHours(1)) : default; // in a lower cell than the item
        var waiting = 0;
        async ValueTask Body(CancellationToken ct)
        {
            waiting++;
            await Task.Delay(Timeout.InfiniteTimeSpan, timeoutFirst ? timeout : ct);
        }

        if (item == "timer")
        {
            scope.After(TimeSpan.FromSeconds(1), Body);
        }
        else
        {
            scope.Loop(TimeSpan.FromSeconds(1), Body);
        }

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, waiting); // setup: the body awaits
        scope.Dispose(); // cancels the timeout first: the body ends inline, before the item's own token is cancelled
        await scope.DisposeAsync().Bounded();

        Assert.Empty(errors);
    }

    private static int Count1202(FakeLogger logger, string message) =>
        logger.Collector.GetSnapshot().Count(r =>
            r.Id.Id == 1202 && r.Exception is AggregateException failure && failure.InnerExceptions.Any(e => e.Message == message));
}
