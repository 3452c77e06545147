using Microsoft.Extensions.DependencyInjection;

namespace SafeRefs.Caching.Redis;

/// <summary>Returned by <see cref="RedisInvalidationServiceCollectionExtensions.AddRedisInvalidation"/> to configure
/// the invalidation channel further.</summary>
/// <remarks>
/// <para><b>Holds</b> the service collection strongly, only for the time of the registration.</para>
/// <para><b>Thread safety:</b> not thread-safe, like any <see cref="IServiceCollection"/> change.</para>
/// </remarks>
public sealed class RedisInvalidationBuilder
{
    internal RedisInvalidationBuilder(IServiceCollection services) => Services = services;

    /// <summary>Gets the service collection the channel is registered in.</summary>
    /// <value>The collection passed to <see cref="RedisInvalidationServiceCollectionExtensions.AddRedisInvalidation"/>.</value>
    public IServiceCollection Services { get; }

    /// <summary>Adds another configuration step for <see cref="RedisInvalidationOptions"/> (Options pattern).</summary>
    /// <param name="configure">Configures the options.</param>
    /// <returns>This builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="configure"/> is <see langword="null"/>.</exception>
    public RedisInvalidationBuilder Configure(Action<RedisInvalidationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure(configure);
        return this;
    }
}
