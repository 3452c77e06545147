using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Testing;
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
    public void FailedCallbackAndBody_TheLoggerThrows_StillCountedAndRaisedOnError()
    {
        using var meterFactory = new TestMeterFactory();
        using var failures = new MetricCollector<long>(meterFactory, "SafeRefs", "saferefs.timer.callback.failures");
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock) { Logger = new ThrowingLogger(), MeterFactory = meterFactory };
        var errors = 0;
        scope.Error += (_, _) => errors++;
        scope.After(Second, static () => throw new InvalidOperationException("callback failed"));
        scope.Loop(Second, static _ => throw new InvalidOperationException("body failed"));

        clock.Advance(Second);

        var kinds = failures.GetMeasurementSnapshot().Select(static m => (string)m.Tags["saferefs.callback.kind"]!).Order();
        Assert.Equal(["loop", "timer"], kinds);
        Assert.Equal(2, errors);
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

        var thrown = Assert.Throws<AggregateException>(timer.Dispose);

        Assert.Equal("ITimer.Dispose", Assert.Single(thrown.InnerExceptions).Message);

        clock.DisposeFailure = null;
        Assert.False(timer.IsActive);
        Assert.Equal(0, scope.ActiveCount);
        clock.Inner.Advance(Second * 3);
        Assert.Equal(0, runs);
    }

    [Fact]
    public void TimerDispose_TheClocksTimerDisposeAndATokenCallbackThrow_TheCloserGetsBoth()
    {
        var clock = new HookedTimeProvider(new FakeTimeProvider());
        using var scope = new TimerScope(clock);
        CancellationTokenRegistration registration = default;
        var timer = scope.Every(Second, ct =>
        {
            registration = ct.Register(static () => throw new InvalidOperationException("token callback"));
            return ValueTask.CompletedTask;
        });
        clock.Inner.Advance(Second);
        clock.DisposeFailure = new InvalidOperationException("ITimer.Dispose");

        var thrown = Assert.Throws<AggregateException>(timer.Dispose); // the token callback's failure replaced the clock's

        clock.DisposeFailure = null;
        Assert.Equal(["ITimer.Dispose", "token callback"], thrown.InnerExceptions.Select(e => e.Message));
        Assert.False(timer.IsActive);
        Assert.Equal(0, scope.ActiveCount);
        registration.Dispose();
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

    // A failure on a background path (a timer thread, a token's canceller): nobody called for it, so it is logged
    // (1204 for the clock, 1200 for a token callback), counted and raised on Error, never thrown there.
    [Fact]
    public async Task Delay_TheClocksTimerDisposeThrowsWhenDue_TheDelayCompletesAndTheFailureIsReported()
    {
        using var probe = new Probe();
        var delay = probe.Scope.Delay(Second);
        probe.Clock.DisposeFailure = new InvalidOperationException("ITimer.Dispose");

        probe.Clock.Inner.Advance(Second); // threw out of the timer callback; the delay never completed

        await delay.WaitAsync(Bound);
        Assert.Equal(0, probe.Scope.ActiveCount);
        probe.AssertReportedOnce("ITimer.Dispose");
    }

    [Fact]
    public async Task Delay_TheClocksTimerDisposeThrowsOnTheTokensCancellation_CancelledAndReportedNotThrownToTheCanceller()
    {
        using var probe = new Probe();
        using var cts = new CancellationTokenSource();
        var delay = probe.Scope.Delay(Second * 5, cts.Token);
        probe.Clock.DisposeFailure = new InvalidOperationException("ITimer.Dispose");

        cts.Cancel(); // threw an AggregateException; the delay stayed counted and never ended

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => delay.WaitAsync(Bound));
        Assert.Equal(0, probe.Scope.ActiveCount);
        probe.AssertReportedOnce("ITimer.Dispose");
    }

    [Fact]
    public async Task Delay_TheClocksTimerDisposeThrowsAsTheScopeIsDisposed_TheDisposerGetsItTheDelayEndsCancelled()
    {
        using var probe = new Probe();
        var delay = probe.Scope.Delay(Second * 5);
        probe.Clock.DisposeFailure = new InvalidOperationException("ITimer.Dispose");

        var thrown = Assert.Throws<AggregateException>(probe.Scope.Dispose);

        Assert.Equal("ITimer.Dispose", Assert.Single(thrown.InnerExceptions).Message);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => delay.WaitAsync(Bound)); // never ended
        await probe.Scope.DisposeAsync().AsTask().WaitAsync(Bound);
        probe.AssertNothingReported();
    }

    [Fact]
    public void Delay_TheClockCannotCreateTheTimer_TheCallerGetsItNothingStaysInTheScope()
    {
        using var probe = new Probe();
        probe.Clock.CreateFailure = new InvalidOperationException("CreateTimer");

        Assert.Equal("CreateTimer", Assert.Throws<InvalidOperationException>(() => { _ = probe.Scope.Delay(Second); }).Message);

        Assert.Equal(0, probe.Scope.ActiveCount); // stayed 1 until the scope was disposed
        probe.AssertNothingReported();
    }

    [Fact]
    public void CancelAfter_TheClocksTimerDisposeThrowsWhenDue_TheTokensCallbacksRunAndTheFailureIsReported()
    {
        using var probe = new Probe();
        var token = probe.Scope.CancelAfter(Second);
        var callbacks = 0;
        using var registration = token.Register(() => callbacks++);
        probe.Clock.DisposeFailure = new InvalidOperationException("ITimer.Dispose");

        probe.Clock.Inner.Advance(Second); // the source's own timer threw before running the token's callbacks

        probe.Clock.DisposeFailure = null;
        Assert.True(token.IsCancellationRequested);
        Assert.Equal(1, callbacks);
        Assert.Equal(0, probe.Scope.ActiveCount);
        probe.AssertReportedOnce("ITimer.Dispose");
    }

    [Fact]
    public void CancelAfter_ATokenCallbackThrowsWhenDue_ReportedNotThrownIntoTheTimerThread()
    {
        using var probe = new Probe();
        var token = probe.Scope.CancelAfter(Second);
        using var registration = token.Register(static () => throw new InvalidOperationException("token callback"));

        probe.Clock.Inner.Advance(Second); // threw out of the timer callback (a system timer ends the process)

        Assert.True(token.IsCancellationRequested);
        Assert.Equal(0, probe.Scope.ActiveCount);
        probe.AssertReportedOnce("token callback", eventId: 1200, kind: "timer");
    }

    [Fact]
    public async Task CancelAfter_TheClocksTimerDisposeThrowsAsTheScopeIsDisposed_TheDisposerGetsItTheTokensCallbacksRun()
    {
        using var probe = new Probe();
        var token = probe.Scope.CancelAfter(Second * 5);
        var callbacks = 0;
        using var registration = token.Register(() => callbacks++);
        probe.Clock.DisposeFailure = new InvalidOperationException("ITimer.Dispose");

        var thrown = Assert.Throws<AggregateException>(probe.Scope.Dispose);

        Assert.Equal("ITimer.Dispose", Assert.Single(thrown.InnerExceptions).Message);
        Assert.True(token.IsCancellationRequested);
        Assert.Equal(1, callbacks); // the source threw before running them
        await probe.Scope.DisposeAsync().AsTask().WaitAsync(Bound);
        probe.AssertNothingReported();
    }

    [Fact]
    public void CancelAfter_TheClockCannotCreateTheTimer_TheCallerGetsItNothingStaysInTheScope()
    {
        using var probe = new Probe();
        probe.Clock.CreateFailure = new InvalidOperationException("CreateTimer");

        Assert.Equal("CreateTimer", Assert.Throws<InvalidOperationException>(() => probe.Scope.CancelAfter(Second)).Message);

        Assert.Equal(0, probe.Scope.ActiveCount);
        probe.AssertNothingReported();
    }

    [Fact]
    public void TimerStart_TheClockCannotArmTheTimer_TheCallerGetsItNothingStaysInTheScope()
    {
        using var probe = new Probe();
        probe.Clock.ChangeFailure = new InvalidOperationException("ITimer.Change");

        Assert.Equal("ITimer.Change", Assert.Throws<InvalidOperationException>(() => probe.Scope.Every(Second, () => { })).Message);

        Assert.Equal(0, probe.Scope.ActiveCount); // stayed 1: a timer that never fires, until the scope was disposed
        probe.AssertNothingReported();
    }

    [Fact]
    public void TimerChangeToPeriodic_TheClocksChangeThrows_TheCallerGetsItAndTheTimerIsClosedNotHalfChanged()
    {
        using var probe = new Probe();
        var runs = 0;
        var timer = probe.Scope.After(Second, () => runs++);
        probe.Clock.ChangeFailure = new InvalidOperationException("ITimer.Change");

        Assert.Equal("ITimer.Change", Assert.Throws<InvalidOperationException>(() => timer.Change(Second * 2, Second)).Message);

        probe.Clock.ChangeFailure = null;
        Assert.False(timer.IsActive); // stayed active for good: marked periodic, its one-shot ITimer fired once
        Assert.Equal(0, probe.Scope.ActiveCount);
        probe.Clock.Inner.Advance(Second * 5);
        Assert.Equal(0, runs);
        Assert.False(timer.Change(Second, Second));
        probe.AssertNothingReported();
    }

    [Fact]
    public void TimerChangeToOneShot_TheClockCannotCreateTheNewTimer_TheCallerGetsItAndTheTimerIsClosedNotHalfChanged()
    {
        using var probe = new Probe();
        var runs = 0;
        var timer = probe.Scope.Every(Second, () => runs++);
        probe.Clock.CreateFailure = new InvalidOperationException("CreateTimer");

        Assert.Equal("CreateTimer", Assert.Throws<InvalidOperationException>(() => timer.Change(Second * 2, TimeSpan.Zero)).Message);

        probe.Clock.CreateFailure = null;
        Assert.False(timer.IsActive); // kept firing every second, marked one-shot, never ending
        Assert.Equal(0, probe.Scope.ActiveCount);
        probe.Clock.Inner.Advance(Second * 5);
        Assert.Equal(0, runs);
        probe.AssertNothingReported();
    }

    [Fact]
    public void TimerChangeToOneShot_TheOldTimersDisposeThrows_TheCallerGetsItAndTheTimerIsClosed()
    {
        using var probe = new Probe();
        var runs = 0;
        var timer = probe.Scope.Every(Second, () => runs++);
        probe.Clock.DisposeFailure = new InvalidOperationException("ITimer.Dispose");

        var thrown = Assert.ThrowsAny<Exception>(() => timer.Change(Second * 2, TimeSpan.Zero));

        probe.Clock.DisposeFailure = null;
        Assert.Contains("ITimer.Dispose", thrown.ToString(), StringComparison.Ordinal);
        Assert.False(timer.IsActive); // stayed active although Change threw
        Assert.Equal(0, probe.Scope.ActiveCount);
        probe.Clock.Inner.Advance(Second * 5);
        Assert.Equal(0, runs);
        probe.AssertNothingReported();
    }

    [Fact]
    public async Task LoopStart_TheClockCannotCreateTheTimer_TheCallerGetsItNothingStaysInTheScope()
    {
        using var probe = new Probe();
        probe.Clock.CreateFailure = new InvalidOperationException("CreateTimer");

        Assert.Equal("CreateTimer", Assert.Throws<InvalidOperationException>(() => probe.Scope.Loop(Second, _ => ValueTask.CompletedTask)).Message);

        Assert.Equal(0, probe.Scope.ActiveCount); // stayed 1 until the scope was disposed
        probe.Clock.CreateFailure = null;
        await probe.Scope.DisposeAsync().AsTask().WaitAsync(Bound);
        probe.AssertNothingReported();
    }

    [Fact]
    public async Task LoopStart_TheClockCannotArmTheTimer_TheCallerGetsItNothingStaysInTheScope()
    {
        using var probe = new Probe();
        var bodies = 0;
        probe.Clock.ChangeFailure = new InvalidOperationException("ITimer.Change");

        Assert.Equal("ITimer.Change", Assert.Throws<InvalidOperationException>(() => probe.Scope.Loop(Second, _ =>
        {
            bodies++;
            return ValueTask.CompletedTask;
        })).Message);

        probe.Clock.ChangeFailure = null;
        Assert.Equal(0, probe.Scope.ActiveCount);
        probe.Clock.Inner.Advance(Second * 5);
        Assert.Equal(0, bodies);
        await probe.Scope.DisposeAsync().AsTask().WaitAsync(Bound);
        probe.AssertNothingReported();
    }

    [Fact]
    public async Task LoopRearm_TheClocksChangeThrowsAfterABody_TheLoopEndsAndTheFailureIsReported()
    {
        using var probe = new Probe();
        var bodies = 0;
        var loop = probe.Scope.Loop(Second, _ =>
        {
            bodies++;
            probe.Clock.ChangeFailure = new InvalidOperationException("ITimer.Change");
            return ValueTask.CompletedTask;
        });

        probe.Clock.Inner.Advance(Second); // threw out of the timer callback; the loop stayed active, never re-armed

        probe.Clock.ChangeFailure = null;
        Assert.Equal(1, bodies);
        Assert.False(loop.IsActive);
        await loop.Completion.WaitAsync(Bound);
        Assert.Equal(0, probe.Scope.ActiveCount);
        probe.AssertReportedOnce("ITimer.Change");
    }

    // The close that ends a one-shot timer or a loop on the timer thread can fail in the clock and in token callbacks:
    // each failure is logged as what it is.
    [Fact]
    public void OneShotTick_TheClocksTimerDisposeThrowsAsTheTimerEnds_ReportedAsTheClocks()
    {
        using var probe = new Probe();
        var runs = 0;
        probe.Scope.After(Second, () => runs++);
        probe.Clock.DisposeFailure = new InvalidOperationException("ITimer.Dispose");

        probe.Clock.Inner.Advance(Second);

        probe.Clock.DisposeFailure = null;
        Assert.Equal(1, runs);
        probe.AssertReportedOnce("ITimer.Dispose");
    }

    [Fact]
    public void AsyncOneShotTick_TheClockAndATokenCallbackThrowAsTheTimerEnds_EachReportedAsWhatItIs()
    {
        using var probe = new Probe();
        CancellationTokenRegistration registration = default;
        probe.Scope.After(Second, ct =>
        {
            registration = ct.Register(static () => throw new InvalidOperationException("token callback"));
            return ValueTask.CompletedTask;
        });
        probe.Clock.DisposeFailure = new InvalidOperationException("ITimer.Dispose");

        probe.Clock.Inner.Advance(Second);

        probe.Clock.DisposeFailure = null;
        probe.AssertReported(("ITimer.Dispose", 1204, "clock"), ("token callback", 1200, "timer"));
        registration.Dispose();
    }

    [Fact]
    public async Task LoopRearm_TheClocksChangeAndDisposeThrowAfterABody_BothReportedAsTheClocks()
    {
        using var probe = new Probe();
        var loop = probe.Scope.Loop(Second, _ =>
        {
            probe.Clock.ChangeFailure = new InvalidOperationException("ITimer.Change");
            probe.Clock.DisposeFailure = new InvalidOperationException("ITimer.Dispose");
            return ValueTask.CompletedTask;
        });

        probe.Clock.Inner.Advance(Second);

        probe.Clock.ChangeFailure = null;
        probe.Clock.DisposeFailure = null;
        await loop.Completion.Bounded();
        probe.AssertReported(("ITimer.Change", 1204, "clock"), ("ITimer.Dispose", 1204, "clock"));
    }

    [Fact]
    public void Lifetime_ATokenCallbackThrowsAsTheLifetimeDisposesTheScope_ReportedNotThrownToTheCanceller()
    {
        using var life = new CancellationTokenSource();
        using var probe = new Probe(life.Token);
        using var registration = probe.Scope.Token.Register(static () => throw new InvalidOperationException("token callback"));

        var thrown = Record.Exception(life.Cancel); // a host's stopping token, or a CancelAfter timer thread

        Assert.Null(thrown);
        Assert.True(probe.Scope.IsDisposed);
        probe.AssertReportedOnce("token callback", eventId: 1200, kind: "timer");
    }

    [Theory]
    [InlineData("timer")]
    [InlineData("loop")]
    [InlineData("delay")]
    [InlineData("CancelAfter")]
    public void Lifetime_TheClocksTimerDisposeThrowsAsTheLifetimeDisposesTheScope_ReportedAsTheClocksNotThrownToTheCanceller(string item)
    {
        using var life = new CancellationTokenSource();
        using var probe = new Probe(life.Token);
        var runs = 0;
        switch (item)
        {
            case "timer":
                probe.Scope.Every(Second, () => runs++);
                break;
            case "loop":
                probe.Scope.Loop(Second, _ =>
                {
                    runs++;
                    return ValueTask.CompletedTask;
                });
                break;
            case "delay":
                _ = probe.Scope.Delay(Second);
                break;
            default:
                probe.Scope.CancelAfter(Second);
                break;
        }

        probe.Clock.DisposeFailure = new InvalidOperationException("ITimer.Dispose");

        var thrown = Record.Exception(life.Cancel);

        probe.Clock.DisposeFailure = null;
        Assert.Null(thrown);
        Assert.Equal(0, probe.Scope.ActiveCount);
        probe.Clock.Inner.Advance(Second);
        Assert.Equal(0, runs);
        probe.AssertReportedOnce("ITimer.Dispose", eventId: 1204, kind: "clock"); // as where no caller asked for it
    }

    // One rule for every item: a token callback's failure that no caller can receive is reported on its own (not as
    // one AggregateException of the token's failures), as the item's (1200 timer, 1201 loop).
    [Theory]
    [InlineData("timer")]
    [InlineData("loop")]
    public void Lifetime_TwoTokenCallbacksOfAnItemThrow_EachReportedOnItsOwn(string item)
    {
        using var life = new CancellationTokenSource();
        using var probe = new Probe(life.Token);
        var registrations = new List<CancellationTokenRegistration>();
        Func<CancellationToken, ValueTask> body = ct =>
        {
            registrations.Add(ct.Register(static () => throw new InvalidOperationException("first")));
            registrations.Add(ct.Register(static () => throw new InvalidOperationException("second")));
            return ValueTask.CompletedTask;
        };
        StartAndRun(probe, item, body);
        var thrown = Record.Exception(life.Cancel);

        Assert.Null(thrown);
        var (eventId, kind) = item == "timer" ? (1200, "timer") : (1201, "loop");
        probe.AssertReported(("second", eventId, kind), ("first", eventId, kind)); // a token runs its callbacks newest first
        registrations.ForEach(static r => r.Dispose());
    }

    // 1200 and 1201 are also logged for a token callback that throws when its item ends: their messages say so,
    // not only "a callback (or body) failed".
    [Theory]
    [InlineData("timer")]
    [InlineData("loop")]
    public void Lifetime_ATokenCallbackOfAnItemThrows_TheLogMessageNamesTheToken(string item)
    {
        using var life = new CancellationTokenSource();
        using var probe = new Probe(life.Token);
        var registration = default(CancellationTokenRegistration);
        Func<CancellationToken, ValueTask> body = ct =>
        {
            registration = ct.Register(static () => throw new InvalidOperationException("token callback"));
            return ValueTask.CompletedTask;
        };
        StartAndRun(probe, item, body);
        life.Cancel();

        var (eventId, kind) = item == "timer" ? (1200, "timer") : (1201, "loop");
        probe.AssertReportedOnce("token callback", eventId, kind);
        Assert.Contains("token", probe.LoggedMessage, StringComparison.Ordinal);
        registration.Dispose();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Lifetime_AChildScopesTokenCallbackThrows_RaisedOnTheChildsErrorElseOnItsParents(bool childHasHandler)
    {
        using var life = new CancellationTokenSource();
        using var probe = new Probe(life.Token);
        var child = probe.Scope.CreateChild();
        var childErrors = new List<string>();
        if (childHasHandler)
        {
            child.Error += (sender, e) =>
            {
                Assert.Same(child, sender);
                childErrors.Add(e.Exception.Message);
            };
        }

        using var registration = child.Token.Register(static () => throw new InvalidOperationException("child token callback"));

        var thrown = Record.Exception(life.Cancel);

        Assert.Null(thrown);
        Assert.True(child.IsDisposed);
        probe.AssertLoggedOnce("child token callback", eventId: 1200, kind: "timer");
        string[] onChild = childHasHandler ? ["child token callback"] : [];
        string[] onParent = childHasHandler ? [] : ["child token callback"];
        Assert.Equal(onChild, childErrors);
        probe.AssertRaised(onParent);
        GC.KeepAlive(child);
    }

    [Fact]
    public void Lifetime_ATokenCallbackThrowsAsADisposerDisposesTheScope_TheDisposerGetsItNothingReported()
    {
        // Control of the two above: with a lifetime, a caller of Dispose still gets the failures it asked for.
        using var life = new CancellationTokenSource();
        using var probe = new Probe(life.Token);
        using var registration = probe.Scope.Token.Register(static () => throw new InvalidOperationException("token callback"));

        var thrown = Assert.Throws<AggregateException>(probe.Scope.Dispose);
        life.Cancel();

        Assert.Equal("token callback", Assert.Single(thrown.InnerExceptions).Message);
        probe.AssertNothingReported();
    }

    /// <summary>A scope on a hooked fake clock with a logger, a meter and an Error handler that record what is reported.</summary>
    // Starts a repeating timer or a loop (item) with the body and runs it once.
    private static void StartAndRun(Probe probe, string item, Func<CancellationToken, ValueTask> body)
    {
        if (item == "timer")
        {
            probe.Scope.Every(Second, body);
        }
        else
        {
            probe.Scope.Loop(Second, body);
        }

        probe.Clock.Inner.Advance(Second);
    }

    private sealed class Probe : IDisposable
    {
        private readonly TestMeterFactory _meterFactory = new();
        private readonly MetricCollector<long> _failures;
        private readonly FakeLogger _logger = new();
        private readonly List<Exception> _errors = [];

        public Probe(CancellationToken lifetime = default)
        {
            _failures = new MetricCollector<long>(_meterFactory, "SafeRefs", "saferefs.timer.callback.failures");
            Scope = new TimerScope(Clock, lifetime) { Logger = _logger, MeterFactory = _meterFactory };
            Scope.Error += (_, e) =>
            {
                lock (_errors)
                {
                    _errors.Add(e.Exception);
                }
            };
        }

        public HookedTimeProvider Clock { get; } = new(new FakeTimeProvider());

        public TimerScope Scope { get; }

        public void AssertReportedOnce(string message, int eventId = 1204, string kind = "clock")
        {
            AssertRaised(message);
            AssertLoggedOnce(message, eventId, kind);
        }

        /// <summary>What reached the scope's <see cref="TimerScope.Error"/>, in order.</summary>
        public void AssertRaised(params string[] messages)
        {
            lock (_errors)
            {
                Assert.Equal(messages, _errors.Select(static e => e.Message));
            }
        }

        /// <summary>The formatted message of the only log entry.</summary>
        public string LoggedMessage => Assert.Single(_logger.Collector.GetSnapshot()).Message;

        public void AssertLoggedOnce(string message, int eventId, string kind)
        {
            var record = Assert.Single(_logger.Collector.GetSnapshot());
            Assert.Equal(eventId, record.Id.Id);
            Assert.Equal(message, record.Exception?.Message);
            Assert.Equal(1, _failures.GetMeasurementSnapshot().EvaluateAsCounter());
            Assert.Equal(kind, _failures.LastMeasurement?.Tags["saferefs.callback.kind"]);
        }

        public void AssertReported(params (string Message, int EventId, string Kind)[] expected)
        {
            lock (_errors)
            {
                Assert.Equal(expected.Select(e => e.Message), _errors.Select(e => e.Message));
            }

            var records = _logger.Collector.GetSnapshot();
            Assert.Equal(expected.Select(e => (e.EventId, (string?)e.Message)), records.Select(r => (r.Id.Id, r.Exception?.Message)));
            var measurements = _failures.GetMeasurementSnapshot();
            Assert.Equal(expected.Select(e => e.Kind), measurements.Select(m => m.Tags["saferefs.callback.kind"] as string));
        }

        public void AssertNothingReported()
        {
            lock (_errors)
            {
                Assert.Empty(_errors);
            }

            Assert.DoesNotContain(_logger.Collector.GetSnapshot(), r => r.Id.Id is 1200 or 1201 or 1204);
            Assert.Equal(0, _failures.GetMeasurementSnapshot().EvaluateAsCounter());
        }

        public void Dispose()
        {
            Clock.DisposeFailure = null;
            Clock.ChangeFailure = null;
            Clock.CreateFailure = null;
            Scope.Dispose();
            _failures.Dispose();
            _meterFactory.Dispose();
        }
    }
}
