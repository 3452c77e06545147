using System.Diagnostics.Metrics;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SafeRefs.Caching.Redis.Internal;

namespace SafeRefs.Caching.Redis;

/// <summary>Registers the <see cref="RedisInvalidationChannel"/> that keeps the app's <see cref="BoundedMemoryCache"/>
/// coherent across instances.</summary>
/// <remarks>
/// <para><b>Holds</b> nothing itself; the container owns (and disposes) the channel and the wrapped distributed cache.</para>
/// <para><b>Thread safety:</b> registration is not thread-safe, like any <see cref="IServiceCollection"/> change.</para>
/// </remarks>
public static class RedisInvalidationServiceCollectionExtensions
{
    /// <summary>
    /// Adds a <see cref="RedisInvalidationChannel"/> and wraps the registered <see cref="IDistributedCache"/> so that
    /// each write or removal through it (including every HybridCache write, removal and tag invalidation) is announced
    /// to the other instances, which drop their local copy. Call it after <c>AddBoundedMemoryCache</c> and after the
    /// distributed cache's registration (for example <c>AddStackExchangeRedisCache</c>); <c>AddHybridCache()</c> may
    /// come before or after. The channel starts with the first resolution of <see cref="IDistributedCache"/>
    /// (HybridCache resolves it when it is created). Options are bound through the Options pattern
    /// (<c>Configure&lt;RedisInvalidationOptions&gt;</c> works too).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options (the Redis connection at least).</param>
    /// <returns>A builder for further configuration.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException"><see cref="BoundedMemoryCache"/> or <see cref="IDistributedCache"/> is not registered yet.</exception>
    public static RedisInvalidationBuilder AddRedisInvalidation(this IServiceCollection services, Action<RedisInvalidationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        if (!services.Any(static d => d.ServiceType == typeof(BoundedMemoryCache) && !d.IsKeyedService))
        {
            throw new InvalidOperationException("Call AddBoundedMemoryCache before AddRedisInvalidation: the channel keeps that cache coherent.");
        }

        var builder = new RedisInvalidationBuilder(services);
        services.Configure(configure);
        if (services.Any(static d => d.ServiceType == typeof(RedisInvalidationChannel)))
        {
            return builder; // registered already: the call only adds its configuration
        }

        var distributed = services.LastOrDefault(static d => d.ServiceType == typeof(IDistributedCache) && !d.IsKeyedService)
            ?? throw new InvalidOperationException(
                "Register the distributed cache (for example AddStackExchangeRedisCache) before AddRedisInvalidation: its writes are what the channel announces.");

        services.AddSingleton(static provider => new RedisInvalidationChannel(
            provider.GetRequiredService<IOptions<RedisInvalidationOptions>>().Value,
            provider.GetRequiredService<BoundedMemoryCache>(),
            provider,
            provider.GetService<ILoggerFactory>(),
            provider.GetService<IMeterFactory>()));
        services.Remove(distributed);
        services.Add(ServiceDescriptor.Describe(typeof(IDistributedCache), provider => Wrap(provider, distributed), distributed.Lifetime));
        return builder;
    }

    private static InvalidatingDistributedCache Wrap(IServiceProvider provider, ServiceDescriptor inner)
    {
        var channel = provider.GetRequiredService<RedisInvalidationChannel>();
        if (inner.ImplementationInstance is IDistributedCache instance)
        {
            return InvalidatingDistributedCache.Create(instance, ownsInner: false, channel);
        }

        var created = inner.ImplementationFactory is { } factory
            ? factory(provider)
            : ActivatorUtilities.CreateInstance(provider, inner.ImplementationType!);
        return InvalidatingDistributedCache.Create((IDistributedCache)created, ownsInner: true, channel);
    }
}
