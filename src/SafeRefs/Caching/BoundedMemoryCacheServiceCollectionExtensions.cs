using System.Diagnostics.Metrics;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SafeRefs.Caching;

/// <summary>Registers a <see cref="BoundedMemoryCache"/> as the application's <see cref="IMemoryCache"/>.</summary>
/// <remarks>
/// <para><b>Holds</b> nothing itself; the container owns (and disposes) the cache singleton.</para>
/// <para><b>Thread safety:</b> registration is not thread-safe, like any <see cref="IServiceCollection"/> change.</para>
/// </remarks>
public static class BoundedMemoryCacheServiceCollectionExtensions
{
    private const string DefaultName = "IMemoryCache";

    /// <summary>
    /// Replaces any <see cref="IMemoryCache"/> registration with a singleton <see cref="BoundedMemoryCache"/>, so every
    /// service that takes <see cref="IMemoryCache"/> from the container gets a bounded cache: your own services,
    /// HybridCache's local tier, and libraries told to use the container's cache (EF Core with
    /// <c>UseMemoryCache(…)</c>, FusionCache with <c>WithRegisteredMemoryCache()</c>; by default both create their own).
    /// Also registers it as <see cref="BoundedMemoryCache"/>. A later <c>AddMemoryCache()</c> does not override it.
    /// The cache is built from <see cref="IOptions{TOptions}"/> of <see cref="BoundedMemoryCacheOptions"/>, so
    /// <c>services.Configure&lt;BoundedMemoryCacheOptions&gt;(…)</c> and configuration binding apply. Unless configured,
    /// the cache logs through the container's <see cref="ILoggerFactory"/>, records its metrics through the container's
    /// <see cref="IMeterFactory"/> (when there is one) and is named <c>IMemoryCache</c> in them.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddBoundedMemoryCache(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions();
        services.RemoveAll<IMemoryCache>();
        services.RemoveAll<BoundedMemoryCache>();
        services.AddSingleton(static provider =>
        {
            var options = provider.GetRequiredService<IOptions<BoundedMemoryCacheOptions>>().Value.Copy();
            options.LoggerFactory ??= provider.GetService<ILoggerFactory>();
            options.MeterFactory ??= provider.GetService<IMeterFactory>();
            options.Name ??= DefaultName;
            return new BoundedMemoryCache(options);
        });
        services.AddSingleton<IMemoryCache>(static provider => provider.GetRequiredService<BoundedMemoryCache>());
        return services;
    }

    /// <summary>Registers a bounded <see cref="IMemoryCache"/> as <see cref="AddBoundedMemoryCache(IServiceCollection)"/>
    /// does, and configures its options with <paramref name="configure"/> (<c>services.Configure(configure)</c>).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options (capacity, size limit, clock…).</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddBoundedMemoryCache(this IServiceCollection services, Action<BoundedMemoryCacheOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddBoundedMemoryCache();
        services.Configure(configure);
        return services;
    }
}
