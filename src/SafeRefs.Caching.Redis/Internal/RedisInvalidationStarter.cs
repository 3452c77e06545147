using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace SafeRefs.Caching.Redis.Internal;

/// <summary>
/// Starts the <see cref="RedisInvalidationChannel"/> with the host, so that an instance subscribes even when nothing
/// resolves HybridCache or the distributed cache early, and so that a distributed cache registered after
/// <c>AddRedisInvalidation</c> fails the host's start with the channel's <see cref="InvalidOperationException"/>
/// instead of going unannounced.
/// </summary>
/// <remarks>Does not wait for Redis: the channel connects and subscribes in the background, and the container
/// disposes it.</remarks>
internal sealed class RedisInvalidationStarter(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = services.GetRequiredService<RedisInvalidationChannel>();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
