using System.Diagnostics.Metrics;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SafeRefs.Caching.Redis.Internal;

namespace SafeRefs.Caching.Redis;

/// <summary>Registers the <see cref="RedisInvalidationChannel"/> that keeps the app's <see cref="BoundedMemoryCache"/>
/// coherent across instances.</summary>
/// <remarks>
/// <para><b>Holds</b> nothing itself. The container owns (and disposes) the channel and the wrapped distributed cache;
/// its registrations hold the service collection strongly, to find the distributed cache when HybridCache is resolved.</para>
/// <para><b>Thread safety:</b> registration is not thread-safe, like any <see cref="IServiceCollection"/> change.</para>
/// </remarks>
public static class RedisInvalidationServiceCollectionExtensions
{
    // The key under which HybridCache finds the wrapper (HybridCacheOptions.DistributedCacheServiceKey).
    internal const string ServiceKey = "SafeRefs.Caching.Redis.InvalidatingDistributedCache";

    /// <summary>
    /// Adds a <see cref="RedisInvalidationChannel"/> and wraps the app's <see cref="IDistributedCache"/> so that each
    /// write or removal through it (including every HybridCache write, removal and tag invalidation) is announced to
    /// the other instances, which drop their local copy. Call it after <c>AddBoundedMemoryCache</c>. The distributed
    /// cache (for example <c>AddStackExchangeRedisCache</c>) and <c>AddHybridCache()</c> may be registered before or
    /// after: HybridCache is always given the wrapper. Code that injects <see cref="IDistributedCache"/> itself gets
    /// the wrapper when the distributed cache was registered before this call; when it is registered later, its
    /// direct writes are not announced and the channel logs warning 1489 when it starts. The channel starts with the
    /// first resolution of the wrapper (HybridCache resolves it when it is created). Options are bound through the
    /// Options pattern (<c>Configure&lt;RedisInvalidationOptions&gt;</c> works too).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options (the Redis connection at least).</param>
    /// <returns>A builder for further configuration.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException"><see cref="BoundedMemoryCache"/> is not registered yet. Resolving
    /// HybridCache (or the channel) throws it too when no <see cref="IDistributedCache"/> is registered at all, or when
    /// <c>HybridCacheOptions.DistributedCacheServiceKey</c> names another distributed cache.</exception>
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

        var registration = new Registration(services);
        services.AddSingleton(static provider => new RedisInvalidationChannel(
            provider.GetRequiredService<IOptions<RedisInvalidationOptions>>().Value,
            provider.GetRequiredService<BoundedMemoryCache>(),
            provider,
            provider.GetService<ILoggerFactory>(),
            provider.GetService<IMeterFactory>()));

        // HybridCache takes its distributed cache by this key, so it gets the wrapper whatever the order in which the
        // distributed cache and this channel were registered; the wrapper finds the distributed cache when resolved.
        services.AddKeyedSingleton<IDistributedCache>(ServiceKey, (provider, _) => registration.ForHybridCache(provider));
        services.AddOptions<HybridCacheOptions>().PostConfigure(options =>
        {
            if (options.DistributedCacheServiceKey is { } key && !Equals(key, ServiceKey))
            {
                registration.HybridCacheKey = key; // the app chose a keyed distributed cache: wrap that one
            }

            options.DistributedCacheServiceKey = ServiceKey;
        });

        // Code that injects IDistributedCache itself gets the wrapper too, when the distributed cache is known now.
        if (services.LastOrDefault(static d => d.ServiceType == typeof(IDistributedCache) && !d.IsKeyedService) is { } distributed)
        {
            registration.Decorated = ServiceDescriptor.Describe(typeof(IDistributedCache), provider => Wrap(provider, distributed), distributed.Lifetime);
            services.Remove(distributed);
            services.Add(registration.Decorated);
        }

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

    /// <summary>What one <see cref="AddRedisInvalidation"/> registered, read back when the services are resolved
    /// (after every registration, in whatever order they came).</summary>
    private sealed class Registration(IServiceCollection services)
    {
        /// <summary>Gets or sets the decorated unkeyed <see cref="IDistributedCache"/>, if it was registered first.</summary>
        internal ServiceDescriptor? Decorated { get; set; }

        /// <summary>Gets or sets the key of the distributed cache the app gave HybridCache, if it gave one.</summary>
        internal object? HybridCacheKey { get; set; }

        internal IDistributedCache ForHybridCache(IServiceProvider provider)
        {
            if (HybridCacheKey is { } key)
            {
                return InvalidatingDistributedCache.Create(
                    provider.GetRequiredKeyedService<IDistributedCache>(key), ownsInner: false, provider.GetRequiredService<RedisInvalidationChannel>());
            }

            var current = services.LastOrDefault(static d => d.ServiceType == typeof(IDistributedCache) && !d.IsKeyedService)
                ?? throw new InvalidOperationException(
                    "AddRedisInvalidation found no IDistributedCache to wrap: register one (for example AddStackExchangeRedisCache), before or after AddRedisInvalidation.");
            if (ReferenceEquals(current, Decorated))
            {
                return provider.GetRequiredService<IDistributedCache>(); // the same wrapper as everyone else's
            }

            // Registered after AddRedisInvalidation: wrap the container's instance for HybridCache (the container
            // owns it), and say that code injecting IDistributedCache itself bypasses the channel.
            var channel = provider.GetRequiredService<RedisInvalidationChannel>();
            channel.ReportUnwrappedDistributedCache(current.ImplementationType ?? current.ImplementationInstance?.GetType());
            return InvalidatingDistributedCache.Create(provider.GetRequiredService<IDistributedCache>(), ownsInner: false, channel);
        }
    }
}
