using StackExchange.Redis;

namespace SafeRefs.Caching.Redis;

/// <summary>Configures the Redis invalidation channel registered by
/// <see cref="RedisInvalidationServiceCollectionExtensions.AddRedisInvalidation"/>.</summary>
/// <remarks>
/// <para><b>Holds</b> what you put in it strongly; the channel reads it once, when it is created.</para>
/// <para><b>Thread safety:</b> a plain settings bag, configured through the Options pattern; do not mutate it after
/// the container is built.</para>
/// </remarks>
public sealed class RedisInvalidationOptions
{
    /// <summary>Gets or sets the StackExchange.Redis configuration string (for example <c>localhost:6379</c>).</summary>
    /// <value><see langword="null"/> by default; one of <see cref="Configuration"/>, <see cref="ConfigurationOptions"/>
    /// or <see cref="ConnectionMultiplexerFactory"/> is required.</value>
    public string? Configuration { get; set; }

    /// <summary>Gets or sets the StackExchange.Redis configuration; takes precedence over <see cref="Configuration"/>.</summary>
    /// <value><see langword="null"/> by default. The channel connects with a copy in which
    /// <c>AbortOnConnectFail</c> is <see langword="false"/> (it keeps retrying) and commands fail fast while
    /// disconnected (a write is never held up by the channel).</value>
    public ConfigurationOptions? ConfigurationOptions { get; set; }

    /// <summary>Gets or sets a factory for the connection, to share one with other components; takes precedence over
    /// the configuration properties. The channel does not dispose a connection it did not create.</summary>
    /// <value><see langword="null"/> by default.</value>
    public Func<Task<IConnectionMultiplexer>>? ConnectionMultiplexerFactory { get; set; }

    /// <summary>Gets or sets the pub/sub channel name. Instances that share a cache must use the same name; separate
    /// applications on one Redis should use different names.</summary>
    /// <value><c>saferefs:cache-invalidation</c> by default; must not be empty.</value>
    public string ChannelName { get; set; } = "saferefs:cache-invalidation";

    /// <summary>Gets or sets how long the channel waits before retrying a subscription that could not be made
    /// (Redis unreachable at start-up).</summary>
    /// <value>1 second by default; must be positive.</value>
    public TimeSpan SubscribeRetryInterval { get; set; } = TimeSpan.FromSeconds(1);
}
