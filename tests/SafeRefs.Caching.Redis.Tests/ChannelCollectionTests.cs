using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using SafeRefs.Testing;
using StackExchange.Redis;

namespace SafeRefs.Caching.Redis.Tests;

/// <summary>
/// A container's <see cref="IMeterFactory"/> outlives the channels that report through it: its instruments must
/// neither keep a disposed channel reachable nor pile up per channel. No Redis is needed: the connection factory fails
/// and the channel keeps retrying, as it would with Redis down.
/// </summary>
public sealed class ChannelCollectionTests
{
    private const string Prefix = "saferefs.cache.invalidation.";

    [Fact]
    public void DisposedChannel_OnALiveMeterFactory_IsCollected()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        using var listener = FailuresListener(factory, out var channels);

        var channel = CreateChannel(factory, "disposed", dispose: true);

        GcAssert.Collected(channel, "the factory's instruments must not hold a disposed channel");
        listener.RecordObservableInstruments();
        Assert.DoesNotContain("disposed", channels);
        GC.KeepAlive(factory);
    }

    [Fact]
    public void LiveChannel_OnALiveMeterFactory_StaysAliveAndReported()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        using var listener = FailuresListener(factory, out var channels);

        var channel = CreateChannel(factory, "live", dispose: false);

        GcAssert.NotCollected(channel, "a channel that is not disposed keeps retrying its subscription");
        listener.RecordObservableInstruments();
        Assert.Contains("live", channels);
        DisposeChannel(channel);
        GC.KeepAlive(factory);
    }

    [Fact]
    public async Task ChannelsOnOneMeterFactory_ShareOneSetOfInstruments()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        var published = new List<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Name.StartsWith(Prefix, StringComparison.Ordinal))
            {
                lock (published)
                {
                    published.Add(instrument.Name);
                }
            }
        };
        listener.Start();

        for (var i = 0; i < 3; i++)
        {
            await using var channel = NewChannel(factory, "channel-" + i);
        }

        lock (published)
        {
            Assert.Equal(4, published.Count);
            Assert.Equal(4, published.Distinct(StringComparer.Ordinal).Count());
        }
    }

    /// <summary>A listener of the factory's failure counter that collects the channel names it is measured for.</summary>
    private static MeterListener FailuresListener(IMeterFactory factory, out HashSet<string> channels)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Name == Prefix + "failures")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == Prefix + "channel.name")
                {
                    names.Add((string)tag.Value!);
                }
            }
        });
        listener.Start();
        channels = names;
        return listener;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference CreateChannel(IMeterFactory factory, string name, bool dispose)
    {
        var channel = NewChannel(factory, name);
        if (dispose)
        {
            channel.Dispose();

            // The retry loop references the channel until it has seen the stop, on the thread pool.
            Assert.True(channel.SubscribeLoop.Wait(TimeSpan.FromSeconds(30)), "the subscribe loop did not stop");
        }

        return new WeakReference(channel);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void DisposeChannel(WeakReference channel) => ((RedisInvalidationChannel?)channel.Target)?.Dispose();

    private static RedisInvalidationChannel NewChannel(IMeterFactory factory, string name) => new(
        new RedisInvalidationOptions
        {
            ChannelName = name,
            ConnectionMultiplexerFactory = static () => Task.FromException<IConnectionMultiplexer>(new InvalidOperationException("no Redis in this test")),
            SubscribeRetryInterval = TimeSpan.FromHours(1),
        },
        new BoundedMemoryCache(new BoundedMemoryCacheOptions()),
        new ServiceCollection().BuildServiceProvider(),
        loggerFactory: null,
        factory);
}
