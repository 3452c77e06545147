using System.Runtime.CompilerServices;
using Microsoft.Extensions.ObjectPool;
using SafeRefs.Pooling;
using SafeRefs.Subscriptions;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Pooling;

/// <summary>
/// nodejs/node#9268 in .NET, with real sockets: one pooled connection serves every request; each request attaches
/// per-request handlers. Guarded: after each request the counts are back to baseline and the request objects are
/// collected. Unguarded (control): one handler per request piles up and the Node-style warning fires at the 11th.
/// </summary>
[Collection(GcCollection.Name)]
public sealed class KeepAliveRegressionTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(12)]
    public void GuardedPool_EveryRequest_ShedsItsListenersAndReusesTheSocket(int requests)
    {
        using var server = new LoopbackServer();
        var policy = new ConnectionPolicy(server.Port);
        var pool = new GuardedObjectPool<Connection>(new DefaultObjectPool<Connection>(policy, maximumRetained: 1));
        var exceeded = 0;
        pool.MaxListenersExceeded += (_, _) => exceeded++;
        var tracker = new LeakTracker();
        var ports = new HashSet<int>();
        var connections = new HashSet<Connection>(ReferenceEqualityComparer.Instance);

        for (var i = 0; i < requests; i++)
        {
            var connection = GuardedRequest(pool, i, tracker, ports);
            connections.Add(connection);
            Assert.Equal(0, connection.DataReceivedCount);
            Assert.Equal(0, connection.ClosedCount);
            Assert.Equal(0, connection.TimedOutCount);
        }

        Assert.Single(ports);
        Assert.Single(connections);
        Assert.Equal(1, policy.Created);
        Assert.Equal(1, server.Accepted);
        Assert.Equal(0, exceeded);
        tracker.AssertAllCollected();
        Assert.Equal(requests, pool.Statistics.Rented);
        Assert.Equal(0, pool.Statistics.Outstanding);
        Assert.Equal(requests * 3, pool.Statistics.Detached);
        GC.KeepAlive(pool);
        foreach (var connection in connections)
        {
            connection.Dispose();
        }
    }

    [Fact]
    public void UnguardedPool_Control_AccumulatesOneHandlerPerRequestAndWarnsAtEleventh()
    {
        using var server = new LoopbackServer();
        var policy = new ConnectionPolicy(server.Port);
        var pool = new DefaultObjectPool<Connection>(policy, maximumRetained: 1);
        var budget = new ListenerBudget(maxListeners: 10);
        var warnings = new List<ListenerLeakEventArgs>();
        budget.Exceeded += (_, e) => warnings.Add(e);
        var tracker = new LeakTracker();
        var ports = new HashSet<int>();
        Connection? connection = null;

        for (var i = 0; i < 12; i++)
        {
            connection = UnguardedRequest(pool, budget, i, tracker, ports);
            Assert.Equal(i + 1, connection.DataReceivedCount);
            Assert.Equal(i < 10 ? 0 : 1, warnings.Count);
        }

        var warning = Assert.Single(warnings);
        Assert.Equal(11, warning.Count);
        Assert.Equal("DataReceived", warning.EventName);
        Assert.Same(connection, warning.Source);
        Assert.Single(ports);
        Assert.Equal(12, tracker.AliveCount());
        GC.KeepAlive(pool);
        connection!.Dispose();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Connection GuardedRequest(GuardedObjectPool<Connection> pool, int i, LeakTracker tracker, HashSet<int> ports)
    {
        using var lease = pool.Rent();
        var request = new RequestContext(i);
        tracker.Track(request, $"request {i}");
        lease.On(static (c, h) => c.DataReceived += h, static (c, h) => c.DataReceived -= h, (EventHandler<string>)((_, reply) => request.Replies.Add(reply)))
            .On(static (c, h) => c.Closed += h, static (c, h) => c.Closed -= h, (EventHandler)((_, _) => request.Closed = true))
            .On(static (c, h) => c.TimedOut += h, static (c, h) => c.TimedOut -= h, (EventHandler)((_, _) => request.TimedOut = true));

        var reply = lease.Value.Request($"request {i}");

        Assert.Equal($"echo:request {i}", reply);
        Assert.Equal([reply], request.Replies);
        Assert.Equal(1, lease.Value.DataReceivedCount);
        ports.Add(lease.Value.LocalPort);
        return lease.Value;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Connection UnguardedRequest(DefaultObjectPool<Connection> pool, ListenerBudget budget, int i, LeakTracker tracker, HashSet<int> ports)
    {
        var connection = pool.Get();
        var request = new RequestContext(i);
        tracker.Track(request, $"request {i}");

        // The bug: the per-request handler is never removed before the connection goes back to the pool.
        _ = Subscribe.Event(connection, static (c, h) => c.DataReceived += h, static (c, h) => c.DataReceived -= h,
            (EventHandler<string>)((_, reply) => request.Replies.Add(reply)), budget);
        connection.Request($"request {i}");
        ports.Add(connection.LocalPort);
        pool.Return(connection);
        return connection;
    }

    private sealed class RequestContext(int id)
    {
        public int Id => id;

        public List<string> Replies { get; } = [];

        public bool Closed { get; set; }

        public bool TimedOut { get; set; }
    }
}
