using Microsoft.Extensions.Caching.Distributed;

namespace SafeRefs.Caching.Redis.Internal;

/// <summary>
/// Wraps the container's <see cref="IDistributedCache"/>: after each write or removal returns, the key (or, for
/// HybridCache's tag-invalidation records, the tag) is announced on the invalidation channel. A read during which
/// another instance's invalidation of its key was applied here is made again (see <see cref="ReadTracker"/>).
/// Refreshes pass straight through. A failed write announces nothing: the shared value did not change.
/// <see cref="Create"/> returns an <see cref="InvalidatingBufferDistributedCache"/> when the inner cache offers
/// <see cref="IBufferDistributedCache"/> (RedisCache does; HybridCache then reads and writes without copies to arrays).
/// </summary>
internal class InvalidatingDistributedCache : IDistributedCache, IDisposable
{
    // HybridCache stores "tag invalidated at" records under this prefix (Microsoft.Extensions.Caching.Hybrid 9-10).
    private const string HybridCacheTagKeyPrefix = "__MSFT_HCT__";

    // A read overlapped by an invalidation of its key is read again (that read starts after the writer's write,
    // which the writer made before announcing it); after this many overlapped reads it reports a miss.
    protected const int MaxReadAttempts = 3;

    private readonly IDistributedCache _inner;
    private readonly bool _ownsInner;
    private int _disposed;

    internal InvalidatingDistributedCache(IDistributedCache inner, bool ownsInner, RedisInvalidationChannel channel)
    {
        _inner = inner;
        _ownsInner = ownsInner;
        Channel = channel;
    }

    internal RedisInvalidationChannel Channel { get; }

    internal IDistributedCache Inner => _inner;

    public static InvalidatingDistributedCache Create(IDistributedCache inner, bool ownsInner, RedisInvalidationChannel channel)
        => inner is IBufferDistributedCache buffered
            ? new InvalidatingBufferDistributedCache(buffered, ownsInner, channel)
            : new InvalidatingDistributedCache(inner, ownsInner, channel);

    public byte[]? Get(string key)
    {
        for (var attempt = 1; ; attempt++)
        {
            var read = Channel.BeginRead(key);
            byte[]? value;
            try
            {
                value = _inner.Get(key);
            }
            catch
            {
                Channel.EndRead(read);
                throw;
            }

            if (!Channel.EndRead(read))
            {
                return value;
            }

            if (attempt == MaxReadAttempts)
            {
                return null;
            }
        }
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken token = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            var read = Channel.BeginRead(key);
            byte[]? value;
            try
            {
                value = await _inner.GetAsync(key, token).ConfigureAwait(false);
            }
            catch
            {
                Channel.EndRead(read);
                throw;
            }

            if (!Channel.EndRead(read))
            {
                return value;
            }

            if (attempt == MaxReadAttempts)
            {
                return null;
            }
        }
    }

    public void Refresh(string key) => _inner.Refresh(key);

    public Task RefreshAsync(string key, CancellationToken token = default) => _inner.RefreshAsync(key, token);

    public void Remove(string key)
    {
        _inner.Remove(key);
        Announce(key);
    }

    public async Task RemoveAsync(string key, CancellationToken token = default)
    {
        await _inner.RemoveAsync(key, token).ConfigureAwait(false);
        await AnnounceAsync(key).ConfigureAwait(false);
    }

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options)
    {
        _inner.Set(key, value, options);
        Announce(key);
    }

    public async Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        await _inner.SetAsync(key, value, options, token).ConfigureAwait(false);
        await AnnounceAsync(key).ConfigureAwait(false);
    }

    public void Dispose()
    {
        // HybridCache's registration may hand out this same instance, so the container can dispose it twice.
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && _ownsInner && _inner is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }

    protected void Announce(string key)
    {
        var (kind, payload) = Classify(key);
        Channel.Publish(kind, payload);
    }

    protected ValueTask AnnounceAsync(string key)
    {
        var (kind, payload) = Classify(key);
        return Channel.PublishAsync(kind, payload);
    }

    private static (InvalidationKind Kind, string Payload) Classify(string key)
        => key.StartsWith(HybridCacheTagKeyPrefix, StringComparison.Ordinal)
            ? (InvalidationKind.Tag, key[HybridCacheTagKeyPrefix.Length..])
            : (InvalidationKind.Key, key);
}
