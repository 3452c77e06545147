using Microsoft.Extensions.Time.Testing;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Docs;

/// <summary>The examples of docs/timers.md and the README timers quick start, compiled and run.</summary>
public sealed class TimersDocs
{
    [Fact]
    public void Readme_QuickStart_Runs()
    {
        var clock = new FakeTimeProvider();
        var widget = new Widget(clock);
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(30, widget.Polls);
        Assert.Equal(1, widget.Refreshes);
        widget.Dispose();
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(30, widget.Polls);
    }

    [Fact]
    public void Interval_Safe_StopsOnDispose()
    {
        var clock = new FakeTimeProvider();
        var poller = new Poller(clock);
        clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(3, poller.Polls);
        poller.Dispose();
        clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(3, poller.Polls);
    }

    [Fact]
    public void Loop_Safe_Runs()
    {
        var clock = new FakeTimeProvider();
        using var timers = new TimerScope(clock);
        var refresher = new Refresher(timers);
        clock.Advance(TimeSpan.FromSeconds(30));
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(2, refresher.Refreshes);
        Assert.NotNull(typeof(RiskyRefresher).GetMethod(nameof(RiskyRefresher.RunAsync)));
    }

    [Fact]
    public async Task Delay_RiskyAndSafe_Run()
    {
        var work = Task.CompletedTask;
        await RiskyRaceAsync(work);

        #region docs-timers-delay-safe
        using (var timeouts = new TimerScope())
        {
            var winner = await Task.WhenAny(work, timeouts.Delay(TimeSpan.FromMinutes(5)));
            // Leaving the block disposes the scope: the losing delay is cancelled and leaves the timer queue.
        }
        #endregion
    }

    [Fact]
    public async Task CancelAfter_Runs()
    {
        var clock = new FakeTimeProvider();
        using var timeouts = new TimerScope(clock);
        #region docs-timers-cancel-after
        var token = timeouts.CancelAfter(TimeSpan.FromSeconds(10));
        var call = SlowCallAsync(token);   // cancelled after 10 s, or at once when the scope is disposed
        #endregion
        clock.Advance(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(0, timeouts.ActiveCount);
    }

    [Fact]
    public void SystemTimersTimer_Safe_Runs()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var view = new View();
        var failures = new List<Exception>();
        #region docs-timers-elapsed-safe
        scope.Every(view, TimeSpan.FromSeconds(1), static v => v.Refresh());   // the view is held weakly
        scope.Error += (_, e) => failures.Add(e.Exception);                   // failures are reported, not swallowed
        #endregion
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(2, view.Refreshes);
        Assert.Empty(failures);
        Assert.NotNull(typeof(TimersDocs).GetMethod(nameof(RiskyElapsed), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static));
    }

    [Fact]
    public void Testing_WithFakeTimeProvider_Runs()
    {
        #region docs-timers-testing
        var clock = new FakeTimeProvider();
        using var timers = new TimerScope(clock);
        var ticks = 0;
        timers.Every(TimeSpan.FromSeconds(1), () => ticks++);

        clock.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal(3, ticks);
        Assert.Equal(1, timers.ActiveCount);   // what is still scheduled: the setInterval "pending timers" view
        #endregion
    }

    private static Task SlowCallAsync(CancellationToken token) => Task.Delay(Timeout.Infinite, token);

    #region docs-timers-delay-risky
    private static async Task RiskyRaceAsync(Task work)
    {
        // The losing Task.Delay stays in the timer queue for its full five minutes; under load thousands pile up.
        var winner = await Task.WhenAny(work, Task.Delay(TimeSpan.FromMinutes(5)));
    }
    #endregion

#pragma warning disable SR1003 // the risky pattern, shown on purpose
    #region docs-timers-elapsed-risky
    private static void RiskyElapsed(View view)
    {
        var timer = new System.Timers.Timer(1000);
        timer.Elapsed += (_, _) => view.Refresh();   // the running timer roots the view; exceptions are swallowed
        timer.Start();
    }
    #endregion
#pragma warning restore SR1003

#pragma warning disable SR1003 // the risky pattern, shown on purpose
    #region docs-timers-interval-risky
    public sealed class RiskyPoller
    {
        public RiskyPoller()
        {
            // Never disposed: the timer queue roots the callback and this poller, and the timer fires forever.
            TimeProvider.System.CreateTimer(_ => Poll(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        }

        public int Polls { get; private set; }

        private void Poll() => Polls++;
    }
    #endregion
#pragma warning restore SR1003

    #region docs-timers-interval-safe
    public sealed class Poller : IDisposable
    {
        private readonly TimerScope _timers;

        public Poller(TimeProvider clock)
        {
            _timers = new TimerScope(clock);
            // The timer holds the poller weakly: a poller dropped without Dispose is collected and its timer retires.
            _timers.Every(this, TimeSpan.FromSeconds(1), static self => self.Poll());
        }

        public int Polls { get; private set; }

        public void Dispose() => _timers.Dispose();   // stops every timer of the scope

        private void Poll() => Polls++;
    }
    #endregion

#pragma warning disable SR1007 // the risky pattern, shown on purpose
    #region docs-timers-loop-risky
    public sealed class RiskyRefresher
    {
        public async Task RunAsync()
        {
            while (true)   // the state machine holds `this` across every await: the refresher is never collected
            {
                await Task.Delay(TimeSpan.FromSeconds(30));
                Refresh();
            }
        }

        public int Refreshes { get; private set; }

        private void Refresh() => Refreshes++;
    }
    #endregion
#pragma warning restore SR1007

    #region docs-timers-loop-safe
    public sealed class Refresher
    {
        public Refresher(TimerScope timers)
        {
            // Holds only a weak reference across its waits; the next wait starts after the body finishes.
            timers.Loop(this, TimeSpan.FromSeconds(30), static (self, ct) => self.RefreshAsync(ct));
        }

        public int Refreshes { get; private set; }

        private ValueTask RefreshAsync(CancellationToken cancellationToken)
        {
            Refreshes++;
            return ValueTask.CompletedTask;
        }
    }
    #endregion

    public sealed class View
    {
        public int Refreshes { get; private set; }

        public void Refresh() => Refreshes++;
    }

    public sealed class Widget : IDisposable
    {
        public Widget(TimeProvider clock)
        {
            #region docs-readme-timers
            _timers = new TimerScope(clock);   // the clock defaults to TimeProvider.System; pass a FakeTimeProvider in tests
            _timers.Every(this, TimeSpan.FromSeconds(1), static self => self.Poll());    // setInterval, owner held weakly
            _timers.Loop(this, TimeSpan.FromSeconds(30), static (self, ct) => self.RefreshAsync(ct));
            // ... Dispose() on the scope stops every timer and loop it created
            #endregion
        }

        private readonly TimerScope _timers;

        public int Polls { get; private set; }

        public int Refreshes { get; private set; }

        public void Dispose() => _timers.Dispose();

        private void Poll() => Polls++;

        private ValueTask RefreshAsync(CancellationToken cancellationToken)
        {
            Refreshes++;
            return ValueTask.CompletedTask;
        }
    }
}
