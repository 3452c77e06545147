using Microsoft.Extensions.Caching.Distributed;

namespace SafeRefs.Caching.Redis.Tests.Infrastructure;

/// <summary>An <see cref="IDistributedCache"/> whose reads can be held after Redis answered, to replay a read that
/// is still in flight when another instance's invalidation arrives.</summary>
internal sealed class GatedDistributedCache(IDistributedCache inner) : IDistributedCache
{
    public Func<string, Task>? AfterRead { get; set; }

    public byte[]? Get(string key) => GetAsync(key).GetAwaiter().GetResult();

    public async Task<byte[]?> GetAsync(string key, CancellationToken token = default)
    {
        var value = await inner.GetAsync(key, token);
        if (AfterRead is { } hook)
        {
            await hook(key);
        }

        return value;
    }

    public void Refresh(string key) => inner.Refresh(key);

    public Task RefreshAsync(string key, CancellationToken token = default) => inner.RefreshAsync(key, token);

    public void Remove(string key) => inner.Remove(key);

    public Task RemoveAsync(string key, CancellationToken token = default) => inner.RemoveAsync(key, token);

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => inner.Set(key, value, options);

    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
        => inner.SetAsync(key, value, options, token);
}
