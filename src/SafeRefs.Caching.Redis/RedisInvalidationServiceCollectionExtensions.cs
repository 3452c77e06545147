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
/// its registrations hold the service collection strongly, to check when the channel is resolved that no distributed
/// cache was registered after it.</para>
/// <para><b>Thread safety:</b> registration is not thread-safe, like any <see cref="IServiceCollection"/> change.</para>
/// </remarks>
public static class RedisInvalidationServiceCollectionExtensions
{
    // The key under which HybridCache finds the wrapper (HybridCacheOptions.DistributedCacheServiceKey).
    internal const string ServiceKey = "SafeRefs.Caching.Redis.InvalidatingDistributedCache";

    /// <summary>
    /// Adds a <see cref="RedisInvalidationChannel"/> and wraps the app's <see cref="IDistributedCache"/> so that each
    /// write or removal through it (including every HybridCache write, removal and tag invalidation) is announced to
    /// the other instances, which drop their local copy. Call it after <c>AddBoundedMemoryCache</c> and after the
    /// distributed cache (for example <c>AddStackExchangeRedisCache</c>), so that HybridCache and code that injects
    /// <see cref="IDistributedCache"/> itself share the wrapper; <c>AddHybridCache()</c> may come before or after. The
    /// channel starts with the host (a hosted service resolves it), or without a host with the first resolution of
    /// the wrapper (HybridCache resolves it when it is created). Options
    /// are bound through the Options pattern (<c>Configure&lt;RedisInvalidationOptions&gt;</c> works too).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options (the Redis connection at least).</param>
    /// <returns>A builder for further configuration.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException"><see cref="BoundedMemoryCache"/> is not registered yet. Starting the
    /// host, or resolving HybridCache, the wrapped <see cref="IDistributedCache"/> or the channel, throws it too when an unkeyed
    /// <see cref="IDistributedCache"/> was registered after this call (its direct writes would not be announced), and
    /// resolving HybridCache throws it when no <see cref="IDistributedCache"/> is registered at all, or when
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
        services.AddSingleton(provider =>
        {
            registration.ThrowIfDistributedCacheRegisteredLater();
            return new RedisInvalidationChannel(
                provider.GetRequiredService<IOptions<RedisInvalidationOptions>>().Value,
                provider.GetRequiredService<BoundedMemoryCache>(),
                provider,
                provider.GetService<ILoggerFactory>(),
                provider.GetService<IMeterFactory>());
        });

        // In a host, the channel starts (and a late distributed cache fails the start) whatever the app resolves.
        services.AddHostedService<RedisInvalidationStarter>();

        // HybridCache takes its distributed cache by this key, so it gets the wrapper whatever the order of
        // AddHybridCache and this call, and a keyed distributed cache of its own is wrapped too.
        services.AddKeyedSingleton<IDistributedCache>(ServiceKey, (provider, _) => registration.ForHybridCache(provider));
        services.AddOptions<HybridCacheOptions>().PostConfigure(options =>
        {
            if (options.DistributedCacheServiceKey is { } key && !Equals(key, ServiceKey))
            {
                registration.HybridCacheKey = key; // the app chose a keyed distributed cache: wrap that one
            }

            options.DistributedCacheServiceKey = ServiceKey;
        });

        // Code that injects IDistributedCache itself gets the wrapper too. One registered later would win over it, and
        // nothing can redirect it once the container is built: the channel refuses to start then.
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
            var channel = provider.GetRequiredService<RedisInvalidationChannel>();
            if (HybridCacheKey is { } key)
            {
                return InvalidatingDistributedCache.Create(provider.GetRequiredKeyedService<IDistributedCache>(key), ownsInner: false, channel);
            }

            return Decorated is null
                ? throw new InvalidOperationException(
                    "AddRedisInvalidation found no IDistributedCache to wrap: register one (for example AddStackExchangeRedisCache) before AddRedisInvalidation.")
                : provider.GetRequiredService<IDistributedCache>(); // the same wrapper as everyone else's
        }

        /// <summary>Throws when an unkeyed <see cref="IDistributedCache"/> was registered after the wrapper: it is
        /// the one the container hands out, and its writes would not be announced.</summary>
        internal void ThrowIfDistributedCacheRegisteredLater()
        {
            if (services.LastOrDefault(static d => d.ServiceType == typeof(IDistributedCache) && !d.IsKeyedService) is { } current
                && !ReferenceEquals(current, Decorated))
            {
                var type = current.ImplementationType ?? current.ImplementationInstance?.GetType();
                throw new InvalidOperationException(
                    $"An IDistributedCache ({type?.FullName ?? "a factory"}) was registered after AddRedisInvalidation, so its writes would not be "
                    + "announced to the other instances. Register the distributed cache (for example AddStackExchangeRedisCache) before AddRedisInvalidation.");
            }
        }
    }
}
