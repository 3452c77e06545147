using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using SafeRefs.Diagnostics;

namespace SafeRefs.Caching.Redis.Internal;

/// <summary>
/// The invalidation instruments of one <see cref="IMeterFactory"/>, created once on its <c>SafeRefs</c> meter, and the
/// channels they report. A factory hands every channel the same meter, which lives until the factory is disposed, and
/// an instrument cannot be removed from a meter: instruments made per channel would keep every channel ever created
/// reachable. So the instruments reference this set only; a channel registers while it is live and leaves at
/// <c>Dispose</c>, and a collection reads the counters of the channels registered, one measurement per channel tagged
/// with its name.
/// </summary>
/// <remarks>
/// Holds the channels weakly (a <see cref="ConditionalWeakTable{TKey, TValue}"/>, so a channel dropped without
/// <c>Dispose</c> leaves when it is collected) and is held by its factory's meter; a set is found again through a weak
/// table keyed by the factory. Thread-safe.
/// </remarks>
internal sealed class ChannelInstruments
{
    private const string ChannelNameTag = "saferefs.cache.invalidation.channel.name";
    private static readonly ConditionalWeakTable<IMeterFactory, ChannelInstruments> PerFactory = new();
    private static readonly Lock PerFactoryLock = new();
    private readonly ConditionalWeakTable<RedisInvalidationChannel, string> _channels = new();

    private ChannelInstruments()
    {
    }

    /// <summary>Gets the set of <paramref name="meterFactory"/>, creating its instruments on first use.</summary>
    /// <param name="meterFactory">The container's meter factory.</param>
    /// <param name="logger">Logs (1489) a metric listener that threw while an instrument was published.</param>
    internal static ChannelInstruments For(IMeterFactory meterFactory, ILogger logger)
    {
        // Under a lock (construction only), so that racing first channels create one set of instruments, not two.
        lock (PerFactoryLock)
        {
            if (!PerFactory.TryGetValue(meterFactory, out var instruments))
            {
                instruments = new ChannelInstruments();
                PerFactory.Add(meterFactory, instruments);
                // The core's name and version: a factory that caches its meters (the default one does) hands both
                // packages one SafeRefs meter.
#pragma warning disable CA2000 // The factory owns its meters and disposes them with itself.
                instruments.Publish(meterFactory.Create(new MeterOptions(SafeRefsMeter.Name) { Version = SafeRefsMeter.Version }), logger);
#pragma warning restore CA2000
            }

            return instruments;
        }
    }

    /// <summary>Reports <paramref name="channel"/>, tagged <paramref name="channelName"/>, until <see cref="Unregister"/>.</summary>
    internal void Register(RedisInvalidationChannel channel, string channelName) => _channels.AddOrUpdate(channel, channelName);

    /// <summary>Stops reporting <paramref name="channel"/>.</summary>
    internal void Unregister(RedisInvalidationChannel channel) => _channels.Remove(channel);

    private static void Create(Meter meter, string name, Func<IEnumerable<Measurement<long>>> observe, string unit, string description, ILogger logger)
    {
        try
        {
            meter.CreateObservableCounter(name, observe, unit, description);
        }
        catch (Exception ex)
        {
            // A MeterListener's InstrumentPublished threw: user code. The instrument is on the meter already and
            // reports to the listeners that took it; the channel goes on.
            Log.InstrumentPublishFailed(logger, ex, name);
        }
    }

    private void Publish(Meter meter, ILogger logger)
    {
        Create(meter, "saferefs.cache.invalidation.published", () => Observe(static s => s.Published), "{message}", "Invalidation messages published.", logger);
        Create(meter, "saferefs.cache.invalidation.applied", () => Observe(static s => s.Applied), "{message}", "Invalidation messages from other instances applied to the local cache.", logger);
        Create(meter, "saferefs.cache.invalidation.failures", () => Observe(static s => s.PublishFailures + s.ApplyFailures), "{message}", "Invalidation messages that could not be published or applied.", logger);
        Create(meter, "saferefs.cache.invalidation.resyncs", () => Observe(static s => s.Resyncs), "{clear}", "Local cache clears after invalidations may have been missed.", logger);
    }

    private List<Measurement<long>> Observe(Func<RedisInvalidationStatistics, long> read)
    {
        var measurements = new List<Measurement<long>>();
        foreach (var (channel, name) in _channels)
        {
            measurements.Add(new Measurement<long>(read(channel.Statistics), new KeyValuePair<string, object?>(ChannelNameTag, name)));
        }

        return measurements;
    }
}
