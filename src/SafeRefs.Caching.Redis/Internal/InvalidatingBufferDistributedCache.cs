using System.Buffers;
using Microsoft.Extensions.Caching.Distributed;

namespace SafeRefs.Caching.Redis.Internal;

/// <summary>The <see cref="InvalidatingDistributedCache"/> of a cache that also offers the buffer API (as
/// <c>RedisCache</c> does), so that HybridCache keeps its allocation-free L2 path.</summary>
internal sealed class InvalidatingBufferDistributedCache : InvalidatingDistributedCache, IBufferDistributedCache
{
    private readonly IBufferDistributedCache _buffers;

    internal InvalidatingBufferDistributedCache(IDistributedCache inner, bool ownsInner, RedisInvalidationChannel channel)
        : base(inner, ownsInner, channel)
        => _buffers = (IBufferDistributedCache)inner;

    public bool TryGet(string key, IBufferWriter<byte> destination) => _buffers.TryGet(key, destination);

    public ValueTask<bool> TryGetAsync(string key, IBufferWriter<byte> destination, CancellationToken token = default)
        => _buffers.TryGetAsync(key, destination, token);

    public void Set(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options)
    {
        _buffers.Set(key, value, options);
        Announce(key);
    }

    public async ValueTask SetAsync(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        await _buffers.SetAsync(key, value, options, token).ConfigureAwait(false);
        await AnnounceAsync(key).ConfigureAwait(false);
    }
}
