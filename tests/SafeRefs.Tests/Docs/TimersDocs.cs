using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Tests.Infrastructure;
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
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.Bounded());
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

    [Fact]
    public async Task AsyncCallbacks_Run()
    {
        var clock = new FakeTimeProvider();
        using var timers = new TimerScope(clock);
        var feed = new Feed();
        var pinger = new Pinger();
        #region docs-timers-async
        timers.Every(TimeSpan.FromMinutes(1), async ct => await feed.PollAsync(ct));   // failures after the await are reported
        timers.Loop(TimeSpan.FromSeconds(30), ct => pinger.PingAsync(ct));            // no owner: runs until disposed
        #endregion
        clock.Advance(TimeSpan.FromSeconds(30));
        clock.Advance(TimeSpan.FromSeconds(30));
        await timers.DisposeAsync().Bounded();
        Assert.Equal(1, feed.Polls);
        Assert.Equal(2, pinger.Pings);
    }

    [Fact]
    public async Task WaitAsync_TimesOut()
    {
        var clock = new FakeTimeProvider();
        var work = new TaskCompletionSource<int>().Task;
        var cancellationToken = CancellationToken.None;
        #region docs-timers-wait-async
        var call = work.WaitAsync(TimeSpan.FromSeconds(10), clock, cancellationToken);   // its timer goes when the wait ends
        #endregion
        clock.Advance(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAsync<TimeoutException>(() => call.Bounded());
    }

    [Fact]
    public async Task CancellationTokenSource_WithTimeout_Runs()
    {
        var clock = new FakeTimeProvider();
        #region docs-timers-cts
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10), clock);
        await CallAsync(cts.Token);   // leaving the block disposes the source and its timer
        #endregion
        Assert.False(cts.IsCancellationRequested);
    }

    [Fact]
    public async Task BackgroundService_WithPeriodicTimer_Beats()
    {
        var clock = new FakeTimeProvider();
        using var heartbeat = new Heartbeat(clock);
        await heartbeat.StartAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);

        // ExecuteAsync may create its PeriodicTimer on another thread after StartAsync returned: advance until it beats.
        while (heartbeat.Beats == 0 && DateTime.UtcNow < deadline)
        {
            clock.Advance(TimeSpan.FromSeconds(30));
            await Task.Delay(1);
        }

        await heartbeat.StopAsync(CancellationToken.None).Bounded();
        Assert.True(heartbeat.Beats > 0);
    }

    private static Task CallAsync(CancellationToken token) => Task.CompletedTask;

    private static Task SlowCallAsync(CancellationToken token) => Task.Delay(Timeout.Infinite, token);

    #region docs-timers-background-service
    public sealed class Heartbeat(TimeProvider clock) : BackgroundService
    {
        public int Beats { get; private set; }

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(30), clock);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Beats++;
            }
        }
    }
    #endregion

    private sealed class Feed
    {
        public int Polls { get; private set; }

        public async Task PollAsync(CancellationToken cancellationToken)
        {
            await Task.Yield();
            Polls++;
        }
    }

    private sealed class Pinger
    {
        public int Pings { get; private set; }

        public ValueTask PingAsync(CancellationToken cancellationToken)
        {
            Pings++;
            return ValueTask.CompletedTask;
        }
    }

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
