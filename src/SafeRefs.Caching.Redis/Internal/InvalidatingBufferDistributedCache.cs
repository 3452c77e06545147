using System.Buffers;
using Microsoft.Extensions.Caching.Distributed;

namespace SafeRefs.Caching.Redis.Internal;

/// <summary>
/// <see cref="InvalidatingDistributedCache"/> over a cache that offers <see cref="IBufferDistributedCache"/>, offering
/// it too. A read goes to a pooled buffer first and reaches the caller's writer only once no invalidation of its key
/// overlapped it: bytes written to the caller's writer could not be taken back for the read made again.
/// </summary>
internal sealed class InvalidatingBufferDistributedCache : InvalidatingDistributedCache, IBufferDistributedCache
{
    private readonly IBufferDistributedCache _inner;

    internal InvalidatingBufferDistributedCache(IBufferDistributedCache inner, bool ownsInner, RedisInvalidationChannel channel)
        : base(inner, ownsInner, channel)
        => _inner = inner;

    public bool TryGet(string key, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var buffer = new PooledBufferWriter();
        for (var attempt = 1; ; attempt++)
        {
            buffer.Clear();
            var read = Channel.BeginRead(key);
            bool found;
            try
            {
                found = _inner.TryGet(key, buffer);
            }
            catch
            {
                Channel.EndRead(read);
                throw;
            }

            if (!Channel.EndRead(read))
            {
                if (found)
                {
                    buffer.CopyTo(destination);
                }

                return found;
            }

            if (attempt == MaxReadAttempts)
            {
                return false;
            }
        }
    }

    public async ValueTask<bool> TryGetAsync(string key, IBufferWriter<byte> destination, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var buffer = new PooledBufferWriter();
        for (var attempt = 1; ; attempt++)
        {
            buffer.Clear();
            var read = Channel.BeginRead(key);
            bool found;
            try
            {
                found = await _inner.TryGetAsync(key, buffer, token).ConfigureAwait(false);
            }
            catch
            {
                Channel.EndRead(read);
                throw;
            }

            if (!Channel.EndRead(read))
            {
                if (found)
                {
                    buffer.CopyTo(destination);
                }

                return found;
            }

            if (attempt == MaxReadAttempts)
            {
                return false;
            }
        }
    }

    public void Set(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options)
    {
        _inner.Set(key, value, options);
        Announce(key);
    }

    public async ValueTask SetAsync(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        await _inner.SetAsync(key, value, options, token).ConfigureAwait(false);
        await AnnounceAsync(key).ConfigureAwait(false);
    }
}
