using System.Globalization;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace SafeRefs.Caching.Redis.Tests.Infrastructure;

/// <summary>One "service instance": its own container with a bounded L1, HybridCache, the Redis L2 and, unless
/// turned off, the invalidation channel. Several of them in one test process share one Redis.</summary>
internal sealed class CacheInstance : IAsyncDisposable
{
    private CacheInstance(ServiceProvider provider, bool invalidation)
    {
        Provider = provider;
        L1 = provider.GetRequiredService<BoundedMemoryCache>();
        Hybrid = provider.GetRequiredService<HybridCache>();
        L2 = provider.GetRequiredService<IDistributedCache>();
        Channel = invalidation ? provider.GetRequiredService<RedisInvalidationChannel>() : null;
        Logs = provider.GetFakeLogCollector();
    }

    public ServiceProvider Provider { get; }

    public BoundedMemoryCache L1 { get; }

    public HybridCache Hybrid { get; }

    public IDistributedCache L2 { get; }

    public RedisInvalidationChannel? Channel { get; }

    public FakeLogCollector Logs { get; }

    /// <summary>Starts an instance; <paramref name="scope"/> isolates the test's keys and channel on the shared server.</summary>
    public static async Task<CacheInstance> StartAsync(
        RedisServerFixture redis,
        string scope,
        int capacity = 1_000,
        long? sizeLimit = null,
        bool invalidation = true,
        GatedDistributedCache[]? gate = null)
    {
        var services = new ServiceCollection();
        services.AddFakeLogging();
        services.AddBoundedMemoryCache(options =>
        {
            options.Capacity = capacity;
            options.SizeLimit = sizeLimit;
        });
        services.AddStackExchangeRedisCache(options => options.InstanceName = scope + ":");
        services.AddOptions<RedisCacheOptions>().Configure<ILoggerFactory>((options, logs) => options.ConfigurationOptions = redis.ClientOptions(logs));
        if (gate is not null)
        {
            // Put a gate between the instance and RedisCache (under the invalidation wrapper).
            var redisCache = services.Last(d => d.ServiceType == typeof(IDistributedCache) && !d.IsKeyedService);
            services.Remove(redisCache);
            services.AddSingleton<IDistributedCache>(provider => gate[0] = new GatedDistributedCache(
                (IDistributedCache)ActivatorUtilities.CreateInstance(provider, redisCache.ImplementationType!)));
        }

        if (invalidation)
        {
            AddInvalidation(services, redis, scope);
        }

        services.AddHybridCache(options => options.DefaultEntryOptions = new HybridCacheEntryOptions
        {
            Expiration = TimeSpan.FromMinutes(10),
            LocalCacheExpiration = TimeSpan.FromMinutes(10),
        });

        var instance = new CacheInstance(services.BuildServiceProvider(), invalidation);
        if (instance.Channel is { } channel)
        {
            await channel.WhenSubscribedAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }

        return instance;
    }

    public ValueTask<string> GetOrCreateAsync(string key, string value, IEnumerable<string>? tags = null)
        => Hybrid.GetOrCreateAsync(key, value, static (v, _) => ValueTask.FromResult(v), tags: tags);

    public bool HasLocal(string key) => L1.TryGetValue(key, out _);

    /// <summary>The instance's log so far (the channel's and the clients' warnings), for failure messages.</summary>
    public string Describe(string name)
        => $"{name}: L1 count {L1.Count}, {Counters()}{Environment.NewLine}"
            + string.Join(Environment.NewLine, Logs.GetSnapshot().Select(r => string.Create(
            CultureInfo.InvariantCulture,
            $"{name} {r.Timestamp:HH:mm:ss.fff} {r.Level} {r.Id.Id} {r.Category}: {r.Message}{(r.Exception is null ? string.Empty : " | " + r.Exception.GetType().Name + ": " + r.Exception.Message)}")));

    public async ValueTask DisposeAsync() => await Provider.DisposeAsync();

    private string Counters() => Channel?.Statistics is not { } s
        ? "no channel"
        : string.Create(
            CultureInfo.InvariantCulture,
            $"subscribed {Channel.IsSubscribed}, published {s.Published}, publish failures {s.PublishFailures}, received {s.Received}, ignored own {s.IgnoredOwn}, applied {s.Applied}, apply failures {s.ApplyFailures}, resyncs {s.Resyncs}");

    private static void AddInvalidation(ServiceCollection services, RedisServerFixture redis, string scope)
    {
        services.AddRedisInvalidation(options =>
        {
            options.ChannelName = "invalidation:" + scope;
            options.SubscribeRetryInterval = TimeSpan.FromMilliseconds(100);
        });
        services.AddOptions<RedisInvalidationOptions>().Configure<ILoggerFactory>((options, logs) => options.ConfigurationOptions = redis.ClientOptions(logs));
    }
}
