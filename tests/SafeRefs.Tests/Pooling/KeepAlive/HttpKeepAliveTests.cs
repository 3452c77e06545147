using System.Runtime.CompilerServices;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Internal;
using SafeRefs.Pooling;
using SafeRefs.Subscriptions;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Pooling.KeepAlive;

/// <summary>
/// nodejs/node#9268 with its own shape, on real loopback sockets: an HTTP/1.1 keep-alive client whose connections
/// come from a pool; every request attaches a data and a close listener and a per-request timeout timer to its
/// connection, awaits the response (continuations run on other threads) and ends its lease. Guarded: nothing of a
/// request outlives its lease or touches a connection another request holds. Risky (plain pool, <c>+=</c>, a dropped
/// timer): one listener and one timer more per request, and the Node-style warning at the 11th.
/// </summary>
/// <remarks>
/// In the 1,000-request test every <see cref="HeldEvery"/>th request waits for its timeout to fire and holds the
/// timeout callback inside its body until the request has called <c>DisposeAsync</c>; the callback then touches the
/// connection again. A pool that handed the connection back at once (instead of when the callback returned) makes that
/// touch foreign in every such request, whatever the timing.
/// </remarks>
[Collection(SoakCollection.Name)]
public sealed class HttpKeepAliveTests
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);
    private const int HeldEvery = 50;

    [Fact]
    public async Task Guarded_1000RequestsOverFewConnections_NothingOfARequestOutlivesItsLease()
    {
        const int workers = 4;
        const int requestsPerWorker = 250;
        var fake = new FakeTimeProvider();
        var clock = new CountingTimeProvider(fake);
        await using var server = new HttpKeepAliveServer();
        var policy = new HttpConnectionPolicy(server.Port);
        var pool = new GuardedObjectPool<HttpConnection>(
            new DefaultObjectPool<HttpConnection>(policy, maximumRetained: workers),
            new GuardedObjectPoolOptions<HttpConnection> { TimeProvider = clock });
        var stats = new RequestStats();
        using var stop = new CancellationTokenSource();

        // Time runs on while requests are in flight, so timeout callbacks race responses and lease ends.
        var driver = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                fake.Advance(TimeSpan.FromSeconds(1));
                await Task.Delay(1);
            }
        });
        var requests = Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            for (var i = 1; i <= requestsPerWorker; i++)
            {
                var id = (w * requestsPerWorker) + i;
                await GuardedRequestAsync(pool, id, stats, hold: id % HeldEvery == 0).ConfigureAwait(false);
            }
        }));
        try
        {
            await Task.WhenAll(requests).WaitAsync(Bound);
        }
        finally
        {
            await stop.CancelAsync();
            await driver.Bounded();
        }

        Assert.Equal(workers * requestsPerWorker, server.Requests);
        Assert.Equal(0, stats.ForeignTouches);
        Assert.Equal(0, stats.InTwoPlaces);
        Assert.Equal(0, stats.WrongBodies);
        Assert.Equal(0, stats.TimersLeft);
        Assert.Equal(workers * requestsPerWorker / HeldEvery, stats.HeldAcrossEnd);
        Assert.Equal(workers * requestsPerWorker, stats.DataEvents);
        Assert.Equal(0, policy.ListenersAtReturn);
        Assert.Equal(0, clock.LiveTimers);
        Assert.All(policy.Connections, c => Assert.Equal((0, 0), (c.ListenerCount, c.Owner)));
        Assert.InRange(policy.Created, 1, 2 * workers);
        Assert.Equal(policy.Created, server.Accepted);
        var statistics = pool.Statistics;
        Assert.Equal(((long)workers * requestsPerWorker, 0L, 2L * workers * requestsPerWorker), (statistics.Rented, statistics.Outstanding, statistics.Detached));
        policy.DisposeAll();
    }

    [Fact]
    public async Task Guarded_TimeoutCallbackStillRunningWhenTheResponseArrives_NextRequestGetsAnotherConnection()
    {
        var fake = new FakeTimeProvider();
        var clock = new CountingTimeProvider(fake);
        await using var server = new HttpKeepAliveServer();
        var policy = new HttpConnectionPolicy(server.Port);
        var pool = new GuardedObjectPool<HttpConnection>(
            new DefaultObjectPool<HttpConnection>(policy, maximumRetained: 2),
            new GuardedObjectPoolOptions<HttpConnection> { TimeProvider = clock });
        var stats = new RequestStats();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();

        var lease = pool.Rent();
        var connection = lease.Value;
        Assert.True(connection.TryClaim(1));
        var request = new RequestState(1, connection, stats);
        request.Attach(lease);
        lease.Timers.After(RequestTimeout, () =>
        {
            entered.Set();
            release.Wait(Bound);
            request.OnTimeout();
        });
        var response = connection.GetAsync("/held/1");
        var advance = Task.Run(() => fake.Advance(RequestTimeout)); // the timeout fires, and is held, on this thread
        Assert.True(entered.Wait(Bound));
        server.ReleaseHeld();
        Assert.Equal("/held/1", await response.WaitAsync(Bound));

        var returned = lease.DisposeAsync().AsTask();

        Assert.False(returned.IsCompleted);
        Assert.Equal(0, connection.ListenerCount);
        using (var next = pool.Rent())
        {
            Assert.NotSame(connection, next.Value); // the connection is not back while its timeout callback runs
        }

        release.Set();
        await returned.WaitAsync(Bound);
        await advance.WaitAsync(Bound);
        Assert.Equal((0, 1), (stats.ForeignTouches, stats.TimedOut));
        Assert.Equal(0, connection.Owner);
        Assert.Equal(0, clock.LiveTimers);
        Assert.Equal(2, policy.Created);
        policy.DisposeAll();
    }

    [Fact]
    public async Task Risky_PlainPoolPlusEqualsAndADroppedTimer_GrowOnePerRequest_WarnAtTheEleventh()
    {
        var clock = new CountingTimeProvider(new FakeTimeProvider());
        await using var server = new HttpKeepAliveServer();
        var policy = new RiskyPolicy(server.Port);
        var pool = new DefaultObjectPool<HttpConnection>(policy, maximumRetained: 1);
        var budget = new ListenerBudget(maxListeners: 10);
        var warnings = new List<ListenerLeakEventArgs>();
        budget.Exceeded += (_, e) => warnings.Add(e);
        HttpConnection? connection = null;

        for (var i = 1; i <= 12; i++)
        {
            connection = await RiskyRequestAsync(pool, budget, clock, i);
            Assert.Equal(i, connection.DataReceivedCount);
            Assert.Equal(i, clock.LiveTimers);
            Assert.Equal(i <= 10 ? 0 : 1, warnings.Count);
        }

        var warning = Assert.Single(warnings);
        Assert.Equal(11, warning.Count);
        Assert.Equal("DataReceived", warning.EventName);
        Assert.Same(connection, warning.Source);
        Assert.Equal(1, server.Accepted);
        connection!.Dispose();
    }

    [Fact]
    public async Task Guarded_SequentialRequests_OneConnection_RequestsAreCollected()
    {
        var clock = new CountingTimeProvider(new FakeTimeProvider());
        await using var server = new HttpKeepAliveServer();
        var policy = new HttpConnectionPolicy(server.Port);
        var pool = new GuardedObjectPool<HttpConnection>(
            new DefaultObjectPool<HttpConnection>(policy, maximumRetained: 1),
            new GuardedObjectPoolOptions<HttpConnection> { TimeProvider = clock });
        var stats = new RequestStats();
        var tracker = new LeakTracker();

        for (var i = 1; i <= 12; i++)
        {
            await GuardedRequestAsync(pool, i, stats, tracker);
            Assert.Equal(0, clock.LiveTimers);
            Assert.Equal(0, policy.Connections[0].ListenerCount);
        }

        Assert.Equal(1, policy.Created);
        Assert.Equal(0, stats.ForeignTouches);

        // The rest of this test may run synchronously inside the last request's response read (an awaited task completes
        // inline). That frame holds the copy of DataReceived it invoked, the ended lease's forwarder, which dropped the
        // request's handler when the lease ended; one yield moves the test off the frame and whatever else it keeps.
        await Task.Yield();
        tracker.AssertAllCollected();
        GC.KeepAlive(pool);
        policy.DisposeAll();
    }

    // The control twin of the test above: the same requests on the risky pattern stay reachable (the connection's
    // listeners and the clock's timers hold them), so the collection check there can fail.
    [Fact]
    public async Task Risky_SequentialRequests_OneConnection_RequestsStayReachable()
    {
        var clock = new CountingTimeProvider(new FakeTimeProvider());
        await using var server = new HttpKeepAliveServer();
        var pool = new DefaultObjectPool<HttpConnection>(new RiskyPolicy(server.Port), maximumRetained: 1);
        var budget = new ListenerBudget(maxListeners: 100);
        var tracker = new LeakTracker();
        HttpConnection? connection = null;

        for (var i = 1; i <= 12; i++)
        {
            connection = await RiskyRequestAsync(pool, budget, clock, i, tracker);
        }

        await Task.Yield();
        Assert.Equal(12, tracker.AliveCount());
        GC.KeepAlive(clock);
        connection!.Dispose();
    }

    private static async Task GuardedRequestAsync(GuardedObjectPool<HttpConnection> pool, int id, RequestStats stats, LeakTracker? tracker = null, bool hold = false)
    {
        var lease = pool.Rent();
        var held = hold ? new HeldTimeout() : null;
        TimerScope timers;
        try
        {
            var connection = lease.Value;
            if (!connection.TryClaim(id))
            {
                Interlocked.Increment(ref stats.InTwoPlaces);
            }

            timers = Begin(lease, id, stats, tracker, held);
            var body = await connection.GetAsync($"/r{id}").ConfigureAwait(false);
            if (body != $"/r{id}")
            {
                Interlocked.Increment(ref stats.WrongBodies);
            }

            if (held is not null)
            {
                // The clock driver fires the timeout, whose callback then waits inside its body for the lease end.
                await held.Entered.Task.WaitAsync(Bound).ConfigureAwait(false);
            }
        }
        finally
        {
            var ending = lease.DisposeAsync();
            held?.EndCalled.TrySetResult();
            await ending.ConfigureAwait(false);
        }

        if (!timers.IsDisposed || timers.ActiveCount != 0)
        {
            Interlocked.Increment(ref stats.TimersLeft);
        }
    }

    // The request's state is built here, so only its listeners and its timer reach it.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static TimerScope Begin(PoolLease<HttpConnection> lease, int id, RequestStats stats, LeakTracker? tracker, HeldTimeout? held = null)
    {
        var request = new RequestState(id, lease.Value, stats, held);
        tracker?.Track(request, $"request {id}");
        request.Attach(lease);
        var timers = lease.Timers;
        timers.After(RequestTimeout, request.OnTimeout);
        return timers;
    }

    private static async Task<HttpConnection> RiskyRequestAsync(DefaultObjectPool<HttpConnection> pool, ListenerBudget budget, TimeProvider clock, int id, LeakTracker? tracker = null)
    {
        var connection = pool.Get();
        var request = new RequestState(id, connection, new RequestStats());
        tracker?.Track(request, $"request {id}");

        // The bug: the listener is never removed and the timeout timer never disposed before the connection goes back.
        _ = Subscribe.Event(connection, static (c, h) => c.DataReceived += h, static (c, h) => c.DataReceived -= h,
            (EventHandler<string>)request.OnData, budget);
#pragma warning disable SR1003 // the risky pattern, on purpose
        _ = clock.CreateTimer(static state => ((RequestState)state!).OnTimeout(), request, RequestTimeout, Timeout.InfiniteTimeSpan);
#pragma warning restore SR1003
        await connection.GetAsync($"/r{id}").ConfigureAwait(false);
        pool.Return(connection);
        return connection;
    }

    private sealed class RequestStats
    {
        public int ForeignTouches;
        public int InTwoPlaces;
        public int WrongBodies;
        public int TimersLeft;
        public int TimedOut;
        public int DataEvents;
        public int HeldAcrossEnd;
    }

    /// <summary>A timeout callback held inside its body from when it fired until its request called <c>DisposeAsync</c>.</summary>
    private sealed class HeldTimeout
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource EndCalled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>One request's callbacks: each checks that the connection is still held by this request.</summary>
    private sealed class RequestState(int id, HttpConnection connection, RequestStats stats, HeldTimeout? held = null)
    {
        public void Attach(PoolLease<HttpConnection> lease) =>
            lease.On(static (c, h) => c.DataReceived += h, static (c, h) => c.DataReceived -= h, (EventHandler<string>)OnData)
                .On(static (c, h) => c.Closed += h, static (c, h) => c.Closed -= h, (EventHandler)OnClosed);

        public void OnData(object? sender, string body)
        {
            Touch();
            Interlocked.Increment(ref stats.DataEvents);
        }

        public void OnTimeout()
        {
            Touch();
            Interlocked.Increment(ref stats.TimedOut);
            if (held is not null)
            {
                held.Entered.TrySetResult();
                if (held.EndCalled.Task.Wait(Bound))
                {
                    Interlocked.Increment(ref stats.HeldAcrossEnd);
                }
            }
            else
            {
                Thread.SpinWait(5_000);
            }

            // A callback that does some work on the connection: it must still be ours after it.
            Touch();
        }

        private void OnClosed(object? sender, EventArgs e) => Touch();

        private void Touch()
        {
            if (connection.Owner != id)
            {
                Interlocked.Increment(ref stats.ForeignTouches);
            }
        }
    }

    /// <summary>The plain pool's policy: connections are reused as they are.</summary>
    private sealed class RiskyPolicy(int port) : PooledObjectPolicy<HttpConnection>
    {
        public override HttpConnection Create() => new(port);

        public override bool Return(HttpConnection obj) => true;
    }
}
