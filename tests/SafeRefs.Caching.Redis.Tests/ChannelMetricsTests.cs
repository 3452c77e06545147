using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using SafeRefs.Diagnostics;
using SafeRefs.Tests.Diagnostics;

namespace SafeRefs.Caching.Redis.Tests;

/// <summary>
/// The channel's instruments, created and listened to: their names follow the naming rules and match the "Metrics
/// reference" of docs/diagnostics.md (kind and unit), and each reads its own counter.
/// </summary>
public sealed class ChannelMetricsTests
{
    private const string Prefix = "saferefs.cache.invalidation.";

    [Fact]
    public async Task ChannelAndCache_OnOneMeterFactory_ShareOneSafeRefsMeter()
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddDistributedMemoryCache();
        services.AddBoundedMemoryCache(_ => { }).AddRedisInvalidation(o => o.Configuration = "127.0.0.1:1,connectTimeout=100");
        await using var provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<IMeterFactory>();
        var meters = new HashSet<Meter>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Meter.Name == SafeRefsMeter.Name)
            {
                lock (meters)
                {
                    meters.Add(instrument.Meter);
                }
            }
        };
        listener.Start();

        _ = provider.GetRequiredService<BoundedMemoryCache>();        // the core's instruments
        _ = provider.GetRequiredService<RedisInvalidationChannel>();  // the channel's

        lock (meters)
        {
            var meter = Assert.Single(meters);
            Assert.NotNull(SafeRefsMeter.Version);
            Assert.Equal(SafeRefsMeter.Version, meter.Version);
        }
    }

    [Fact]
    public async Task ChannelInstruments_AreTheDocumentedOnes_AndReadTheChannelsCounters()
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddDistributedMemoryCache();
        services.AddBoundedMemoryCache(_ => { }).AddRedisInvalidation(o => o.Configuration = "127.0.0.1:1,connectTimeout=100");
        await using var provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<IMeterFactory>();
        var instruments = new List<Instrument>();
        var values = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Name.StartsWith(Prefix, StringComparison.Ordinal))
            {
                lock (instruments)
                {
                    instruments.Add(instrument);
                }

                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            lock (values)
            {
                values[instrument.Name] = value;
            }
        });
        listener.Start();

        var channel = provider.GetRequiredService<RedisInvalidationChannel>();
        await channel.InvalidateAsync("k"); // Redis is unreachable: one publish failure
        listener.RecordObservableInstruments();

        var documented = DocumentedInstruments();
        Assert.Equal(documented.Keys.Order(StringComparer.Ordinal), instruments.Select(i => i.Name).Order(StringComparer.Ordinal));
        Assert.All(instruments, i => Assert.Equal(documented[i.Name], (i.GetType().Name.Split('`')[0], $"`{i.Unit}`")));
        var violations = instruments.SelectMany(i => MetricNameRules.InstrumentViolations(i.Name, isUpDownCounter: false)).ToList();
        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
        Assert.Equal(1, values[Prefix + "failures"]);
        Assert.Equal(0, values[Prefix + "published"]);
        Assert.Equal(0, values[Prefix + "applied"]);
        Assert.Equal(0, values[Prefix + "resyncs"]);
    }

    [Fact]
    public async Task TwoChannelsOnOneFactory_EachMeasurementNamesItsChannel_ADisposedChannelReportsNothing()
    {
        using var factoryServices = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = factoryServices.GetRequiredService<IMeterFactory>();
        await using var orders = ChannelServices(factory, "orders");
        await using var products = ChannelServices(factory, "products");
        var failures = new List<(string? Channel, long Value)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Name == Prefix + "failures")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? channel = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "saferefs.cache.invalidation.channel.name")
                {
                    channel = (string?)tag.Value;
                }
            }

            failures.Add((channel, value));
        });
        listener.Start();

        var ordersChannel = orders.GetRequiredService<RedisInvalidationChannel>();
        _ = products.GetRequiredService<RedisInvalidationChannel>();
        await ordersChannel.InvalidateAsync("k"); // Redis is unreachable: one publish failure, on "orders" only
        listener.RecordObservableInstruments();

        Assert.Equal([("orders", 1L), ("products", 0L)], failures.Order());

        failures.Clear();
        await ordersChannel.DisposeAsync();
        listener.RecordObservableInstruments();

        Assert.Equal([("products", 0L)], failures);
    }

    /// <summary>A container with a channel named <paramref name="channelName"/>, on a meter factory it shares.</summary>
    private static ServiceProvider ChannelServices(IMeterFactory factory, string channelName)
    {
        var services = new ServiceCollection();
        services.AddSingleton(factory);
        services.AddDistributedMemoryCache();
        services.AddBoundedMemoryCache(_ => { }).AddRedisInvalidation(o =>
        {
            o.Configuration = "127.0.0.1:1,connectTimeout=100";
            o.ChannelName = channelName;
        });
        return services.BuildServiceProvider();
    }

    /// <summary>The channel's rows of the "Metrics reference" table of docs/diagnostics.md: name to (kind, unit).</summary>
    private static Dictionary<string, (string Kind, string Unit)> DocumentedInstruments()
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "diagnostics.md"));
        var start = text.IndexOf("### Metrics reference\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/diagnostics.md has no \"### Metrics reference\" section.");
        var end = text.IndexOf("\n### ", start + 1, StringComparison.Ordinal);
        return text[start..(end < 0 ? text.Length : end)].Split('\n')
            .Where(line => line.StartsWith("| `" + Prefix, StringComparison.Ordinal))
            .Select(line => line.Trim('|').Split(" | ").Select(cell => cell.Trim()).ToArray())
            .ToDictionary(cells => cells[0].Trim('`'), cells => (cells[1], cells[2]));
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SafeRefs.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("SafeRefs.sln not found above " + AppContext.BaseDirectory);
    }
}
