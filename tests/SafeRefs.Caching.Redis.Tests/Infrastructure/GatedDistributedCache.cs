using System.Buffers;
using Microsoft.Extensions.Caching.Distributed;

namespace SafeRefs.Caching.Redis.Tests.Infrastructure;

/// <summary>An <see cref="IDistributedCache"/> whose reads can be held after Redis answered, to replay a read that
/// is still in flight when another instance's invalidation arrives. It offers <see cref="IBufferDistributedCache"/>
/// like the RedisCache it wraps, so HybridCache reads through the buffer path.</summary>
internal sealed class GatedDistributedCache(IDistributedCache inner) : IDistributedCache, IBufferDistributedCache
{
    private readonly IBufferDistributedCache _buffered = (IBufferDistributedCache)inner;

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

    public bool TryGet(string key, IBufferWriter<byte> destination) => TryGetAsync(key, destination).AsTask().GetAwaiter().GetResult();

    public async ValueTask<bool> TryGetAsync(string key, IBufferWriter<byte> destination, CancellationToken token = default)
    {
        var found = await _buffered.TryGetAsync(key, destination, token);
        if (AfterRead is { } hook)
        {
            await hook(key);
        }

        return found;
    }

    public void Set(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options) => _buffered.Set(key, value, options);

    public ValueTask SetAsync(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, CancellationToken token = default)
        => _buffered.SetAsync(key, value, options, token);
}
