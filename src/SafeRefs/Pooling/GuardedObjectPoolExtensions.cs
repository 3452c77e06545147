using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.ObjectPool;

namespace SafeRefs.Pooling;

/// <summary>Creates guarded pools from an <see cref="ObjectPoolProvider"/> and registers them for dependency injection.</summary>
/// <remarks><b>Holds</b> nothing. <b>Thread safety:</b> as the provider and service collection used.</remarks>
public static class GuardedObjectPoolExtensions
{
    /// <summary>Creates an inner pool with <paramref name="provider"/> and <paramref name="policy"/>, guarded; disposing
    /// the guarded pool disposes that inner pool (and the <see cref="IDisposable"/> objects it retains).</summary>
    /// <typeparam name="T">The pooled type.</typeparam>
    /// <param name="provider">Creates the inner pool (e.g. <see cref="DefaultObjectPoolProvider"/>).</param>
    /// <param name="policy">Creates and resets objects.</param>
    /// <param name="options">The guard's settings.</param>
    /// <returns>The guarded pool.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="provider"/> or <paramref name="policy"/> is <see langword="null"/>.</exception>
    public static GuardedObjectPool<T> CreateGuarded<T>(this ObjectPoolProvider provider, IPooledObjectPolicy<T> policy, GuardedObjectPoolOptions<T>? options = null)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(policy);
        return new GuardedObjectPool<T>(provider.Create(policy), options, ownsInner: true);
    }

    /// <summary>
    /// Registers a singleton <see cref="GuardedObjectPool{T}"/> (also resolvable as <see cref="ObjectPool{T}"/>) over a
    /// pool from the registered <see cref="ObjectPoolProvider"/> (a <see cref="DefaultObjectPoolProvider"/> if none),
    /// creating objects with their parameterless constructor. See
    /// <see cref="AddGuardedObjectPool{T}(IServiceCollection, IPooledObjectPolicy{T}, Action{GuardedObjectPoolOptions{T}})"/>.
    /// </summary>
    /// <typeparam name="T">The pooled type, created with its parameterless constructor.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddGuardedObjectPool<T>(this IServiceCollection services)
        where T : class, new() => services.AddGuardedObjectPool<T>(configure: null);

    /// <summary>
    /// Registers a singleton <see cref="GuardedObjectPool{T}"/> (also resolvable as <see cref="ObjectPool{T}"/>) over a
    /// pool from the registered <see cref="ObjectPoolProvider"/> (a <see cref="DefaultObjectPoolProvider"/> if none),
    /// creating objects with their parameterless constructor. See
    /// <see cref="AddGuardedObjectPool{T}(IServiceCollection, IPooledObjectPolicy{T}, Action{GuardedObjectPoolOptions{T}})"/>.
    /// </summary>
    /// <typeparam name="T">The pooled type, created with its parameterless constructor.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Adjusts the guard's settings; <see langword="null"/> for the defaults.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddGuardedObjectPool<T>(this IServiceCollection services, Action<GuardedObjectPoolOptions<T>>? configure)
        where T : class, new()
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.AddGuardedObjectPool(new DefaultPooledObjectPolicy<T>(), configure);
    }

    /// <summary>Registers a guarded pool whose objects <paramref name="policy"/> creates and resets, with the default
    /// settings; see <see cref="AddGuardedObjectPool{T}(IServiceCollection, IPooledObjectPolicy{T}, Action{GuardedObjectPoolOptions{T}})"/>.</summary>
    /// <typeparam name="T">The pooled type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="policy">Creates and resets the pooled objects.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="policy"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddGuardedObjectPool<T>(this IServiceCollection services, IPooledObjectPolicy<T> policy)
        where T : class => services.AddGuardedObjectPool(policy, configure: null);

    /// <summary>
    /// Registers a singleton <see cref="GuardedObjectPool{T}"/> (also resolvable as <see cref="ObjectPool{T}"/>) over a
    /// pool that the registered <see cref="ObjectPoolProvider"/> (a <see cref="DefaultObjectPoolProvider"/> if none)
    /// creates with <paramref name="policy"/>. The container disposes the guarded pool, which disposes that inner pool
    /// and so the <see cref="IDisposable"/> objects it retains. Without a configured logger, the pool logs through the
    /// container's <see cref="ILoggerFactory"/> when there is one; without a configured
    /// <see cref="GuardedObjectPoolOptions{T}.MeterFactory"/>, it records its metrics through the container's
    /// <see cref="IMeterFactory"/> when there is one (the static <c>SafeRefs</c> meter otherwise).
    /// </summary>
    /// <typeparam name="T">The pooled type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="policy">Creates and resets the pooled objects.</param>
    /// <param name="configure">Adjusts the guard's settings.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="policy"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddGuardedObjectPool<T>(this IServiceCollection services, IPooledObjectPolicy<T> policy, Action<GuardedObjectPoolOptions<T>>? configure)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(policy);
        services.TryAddSingleton<ObjectPoolProvider, DefaultObjectPoolProvider>();
        services.TryAddSingleton(sp =>
        {
            var options = new GuardedObjectPoolOptions<T>();
            configure?.Invoke(options);
            options.Logger ??= sp.GetService<ILoggerFactory>()?.CreateLogger("SafeRefs.Pooling.GuardedObjectPool");
            options.MeterFactory ??= sp.GetService<IMeterFactory>();
            return sp.GetRequiredService<ObjectPoolProvider>().CreateGuarded(policy, options);
        });
        services.TryAddSingleton<ObjectPool<T>>(static sp => sp.GetRequiredService<GuardedObjectPool<T>>());
        return services;
    }
}
