using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SafeRefs.Caching.Redis.Internal;
using SafeRefs.Caching.Redis.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit.Sdk;

namespace SafeRefs.Caching.Redis.Tests;

/// <summary>Redis going away and coming back, and a subscriber connection killed by the server.</summary>
public sealed class FaultTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [RedisFact]
    public Task RedisRestart_L1KeepsServing_NoCallerSeesAnException_AndEachInstanceClearsOnReconnect() => DiagnosedAsync(async instances =>
    {
        var (a, b) = await StartTwoAsync(instances);
        await WriteOnACacheOnBAsync(a, b, "k", "v1");

        await redis.StopAsync();
        Assert.True(await Eventually.TrueAsync(() => !a.Channel!.IsSubscribed && !b.Channel!.IsSubscribed));

        // The L1 keeps serving, and announcing a change while Redis is down neither throws nor waits: Redis stays down
        // until after this bound, so a publish that waited for it would run out (the bound is generous for a loaded
        // machine, not a speed claim).
        Assert.Equal("v1", await b.GetOrCreateAsync("k", "x"));
        await a.Channel!.InvalidateAsync("k").AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(a.Channel.Statistics.PublishFailures >= 1);
        Assert.Contains(a.Logs.GetSnapshot(), r => r.Id.Id == 1481);

        await redis.StartAsync();

        // Each instance clears what it may have missed (B never got A's invalidation) and logs it.
        Assert.True(await Eventually.TrueAsync(() => b.Channel!.Statistics.Resyncs >= 1 && !b.HasLocal("k")));
        Assert.True(await Eventually.TrueAsync(() => a.Channel.Statistics.Resyncs >= 1));
        Assert.Contains(b.Logs.GetSnapshot(), r => r.Id.Id == 1483);
        Assert.True(await Eventually.TrueAsync(() => a.Channel.IsSubscribed && b.Channel!.IsSubscribed));

        // And the channel works again.
        await a.Hybrid.SetAsync("k2", "v1");
        Assert.Equal("v1", await b.GetOrCreateAsync("k2", "x"));
        await a.Hybrid.SetAsync("k2", "v2");
        Assert.True(await Eventually.TrueAsync(async () => await b.GetOrCreateAsync("k2", "x") == "v2"));
    });

    [RedisFact]
    public Task PublisherThatMissedMessages_AsksOthersToClear_WhenBack() => DiagnosedAsync(async instances =>
    {
        var (a, b) = await StartTwoAsync(instances);

        await redis.StopAsync();
        Assert.True(await Eventually.TrueAsync(() => !a.Channel!.IsSubscribed));
        await a.Channel!.InvalidateAsync("lost");
        await redis.StartAsync();
        Assert.True(await Eventually.TrueAsync(() => a.Channel.IsSubscribed && b.Channel!.IsSubscribed));

        // A asks every instance to clear (a partition may have cut only A off); here B's subscription was down too,
        // so B may clear on its own before A's request can reach it: either way B dropped what it held.
        Assert.True(await Eventually.TrueAsync(() => a.Logs.GetSnapshot().Any(r => r.Id.Id == 1488)));
        Assert.True(await Eventually.TrueAsync(() => b.Channel!.Statistics.Resyncs + b.Channel.Statistics.Applied >= 1));
    });

    [RedisFact]
    public Task SubscriberConnectionKilled_InstanceClearsItsL1_AndReceivesAgain() => DiagnosedAsync(async instances =>
    {
        var (a, b) = await StartTwoAsync(instances);
        await WriteOnACacheOnBAsync(a, b, "k", "v1");

        // What Redis does to a subscriber that falls too far behind (client-output-buffer-limit pubsub).
        await redis.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");

        Assert.True(await Eventually.TrueAsync(() => b.Channel!.Statistics.Resyncs >= 1 && !b.HasLocal("k")));
        Assert.True(await Eventually.TrueAsync(() => b.Channel!.IsSubscribed));
        Assert.Equal("v1", await b.GetOrCreateAsync("k", "x"));
        await a.Hybrid.SetAsync("k", "v2");
        Assert.True(await Eventually.TrueAsync(async () => await b.GetOrCreateAsync("k", "x") == "v2"));
    });

    [RedisFact]
    public Task PublishThatFailsWhileConnected_ClearIsRequestedWithTheNextAnnouncement() => DiagnosedAsync(async instances =>
    {
        var (a, b) = await StartTwoAsync(instances);
        var failed = false;
        a.Channel!.BeforePublish = kind =>
        {
            if (kind == InvalidationKind.Key && !failed)
            {
                failed = true;
                throw new RedisException("test: publish lost");
            }

            return Task.CompletedTask;
        };
        b.L1.Set("marker", 1);

        // No connection drops, so no reconnection will send the request: the next announcement carries it.
        await a.Channel.InvalidateAsync("lost");
        Assert.Equal(1, a.Channel.Statistics.PublishFailures);
        Assert.True(b.HasLocal("marker"));
        await a.Channel.InvalidateAsync("next");

        Assert.True(await Eventually.TrueAsync(() => !b.HasLocal("marker")));
        Assert.Contains(a.Logs.GetSnapshot(), r => r.Id.Id == 1488);
    });

    [RedisFact]
    public Task ClearRequestThatFailsAfterAReconnect_IsRetried() => DiagnosedAsync(async instances =>
    {
        var (a, b) = await StartTwoAsync(instances);
        var channelName = a.Provider.GetRequiredService<IOptions<RedisInvalidationOptions>>().Value.ChannelName;
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var clearAttempts = 0;
        var failKey = true;
        a.Channel!.BeforePublish = async kind =>
        {
            if (kind == InvalidationKind.Key && failKey)
            {
                failKey = false;
                throw new RedisException("test: publish lost");
            }

            if (kind == InvalidationKind.Clear && Interlocked.Increment(ref clearAttempts) == 1)
            {
                // The first request after the reconnection fails, as when the other connection is not back yet.
                entered.SetResult();
                await release.Task;
                throw new RedisException("test: connection not back yet");
            }
        };

        // A misses one announcement, so it owes the others a "clear" request once a connection comes back.
        await a.Channel.InvalidateAsync("lost");
        Assert.Equal(1, a.Channel.Statistics.PublishFailures);

        // Only the subscription connections drop and come back: one reconnection per instance, hence one request.
        await redis.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
        await entered.Task.WaitAsync(Eventually.Bound);

        // Before A's request fails, B must be listening again (a message published earlier would be lost) and done
        // clearing on its own reconnection; a marker in B's L1 is then removed only by A's request.
        var probe = InvalidationMessage.Format("probe", InvalidationKind.Key, "probe");
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            var applied = b.Channel!.Statistics.Applied;
            await redis.ExecuteAsync("PUBLISH", channelName, probe);
            return await Eventually.TrueAsync(() => b.Channel.Statistics.Applied > applied, TimeSpan.FromSeconds(1));
        }));
        Assert.True(await Eventually.TrueAsync(() => b.Channel!.Statistics.Resyncs >= 1));
        b.L1.Set("marker", 1);
        release.SetResult();

        Assert.True(await Eventually.TrueAsync(() => !b.HasLocal("marker")));
        Assert.Equal(2, Volatile.Read(ref clearAttempts));
        Assert.Contains(a.Logs.GetSnapshot(), r => r.Id.Id == 1488);
    });

    [RedisFact]
    public Task ReconnectionHandledBeforeItsFailure_ClearsAndRequestsAClearOnce() => DiagnosedAsync(async instances =>
    {
        var (a, _) = await StartTwoAsync(instances);
        var requested = 0;
        var failKey = true;
        a.Channel!.BeforePublish = kind =>
        {
            if (kind == InvalidationKind.Key && failKey)
            {
                failKey = false;
                throw new RedisException("test: publish lost");
            }

            if (kind == InvalidationKind.Clear)
            {
                Interlocked.Increment(ref requested);
            }

            return Task.CompletedTask;
        };
        await a.Channel.InvalidateAsync("lost");
        Assert.Equal(1, a.Channel.Statistics.PublishFailures);
        a.L1.Set("marker", 1);
        var resyncs = a.Channel.Statistics.Resyncs;

        // The client raises both events from separate thread-pool work items, so the reconnection's handler can run
        // first. Alone it reads as a first connection; the failure's late handler finds the connection already back.
        a.Channel.OnConnectionRestored(null, ConnectionEvent(ConnectionType.Subscription, ConnectionFailureType.None));
        Assert.Equal(resyncs, a.Channel.Statistics.Resyncs);
        Assert.True(a.HasLocal("marker"));
        a.Channel.OnConnectionFailed(null, ConnectionEvent(ConnectionType.Subscription, ConnectionFailureType.SocketClosed));

        Assert.Equal(resyncs + 1, a.Channel.Statistics.Resyncs);
        Assert.False(a.HasLocal("marker"));
        Assert.Equal(1, Volatile.Read(ref requested)); // the first attempt runs before FlushUnsentAsync yields
    });

    [RedisFact]
    public Task FailureHandledBeforeItsReconnection_ClearsOnTheReconnection() => DiagnosedAsync(async instances =>
    {
        var (a, _) = await StartTwoAsync(instances);
        a.L1.Set("marker", 1);
        var resyncs = a.Channel!.Statistics.Resyncs;

        a.Channel.OnConnectionFailed(null, ConnectionEvent(ConnectionType.Subscription, ConnectionFailureType.SocketClosed));
        Assert.Equal(resyncs, a.Channel.Statistics.Resyncs);
        Assert.True(a.HasLocal("marker"));
        a.Channel.OnConnectionRestored(null, ConnectionEvent(ConnectionType.Subscription, ConnectionFailureType.None));

        Assert.Equal(resyncs + 1, a.Channel.Statistics.Resyncs);
        Assert.False(a.HasLocal("marker"));
    });

    private ConnectionFailedEventArgs ConnectionEvent(ConnectionType type, ConnectionFailureType failure) =>
        new(this, System.Net.IPEndPoint.Parse(redis.Endpoint), type, failure, null!, null!);

    /// <summary>A writes <paramref name="key"/>; B caches the value once it has applied A's message about that write.
    /// Read before, B's fresh copy would be dropped by the message arriving after it (harmless in production, a
    /// re-read), and a test that then stops Redis would find B's L1 empty.</summary>
    private static async Task WriteOnACacheOnBAsync(CacheInstance a, CacheInstance b, string key, string value)
    {
        var applied = b.Channel!.Statistics.Applied;
        await a.Hybrid.SetAsync(key, value);
        Assert.True(await Eventually.TrueAsync(() => b.Channel.Statistics.Applied > applied));
        Assert.Equal(value, await b.GetOrCreateAsync(key, "x"));
        Assert.True(b.HasLocal(key));
    }

    /// <summary>Runs a fault scenario. When it fails, the failure carries what the server and each instance logged;
    /// either way the server is running again afterwards, so one failure cannot cascade into the next test.</summary>
    private async Task DiagnosedAsync(Func<List<CacheInstance>, Task> scenario)
    {
        var instances = new List<CacheInstance>();
        try
        {
            await scenario(instances);
        }
        catch (Exception ex)
        {
            var logs = instances.Select((instance, i) => instance.Describe(((char)('A' + i)).ToString()));
            throw new XunitException(
                $"{ex.GetType().Name}: {ex.Message}{Environment.NewLine}--- redis-server and fixture:{Environment.NewLine}{redis.Describe()}"
                + $"{Environment.NewLine}--- instances:{Environment.NewLine}{string.Join(Environment.NewLine, logs)}",
                ex);
        }
        finally
        {
            foreach (var instance in instances)
            {
                await instance.DisposeAsync();
            }

            await redis.StartAsync();
        }
    }

    private async Task<(CacheInstance A, CacheInstance B)> StartTwoAsync(List<CacheInstance> instances)
    {
        var scope = Guid.NewGuid().ToString("N");
        instances.Add(await CacheInstance.StartAsync(redis, scope));
        instances.Add(await CacheInstance.StartAsync(redis, scope));
        return (instances[0], instances[1]);
    }
}