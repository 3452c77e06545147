namespace SafeRefs.Caching.Internal;

/// <summary>A cache node that also carries a weight and expiration times (used only when the cache needs them).</summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
internal sealed class RichCacheNode<TKey, TValue> : CacheNode<TKey, TValue>
    where TKey : notnull
{
    public RichCacheNode(TKey key, int hash, TValue value, long weight, long absoluteExpiry, long sliding, long now)
        : base(key, hash, value)
    {
        Weight = weight;
        AbsoluteExpiry = absoluteExpiry;
        Sliding = sliding;
        LastAccess = now;
    }

    public long Weight { get; }

    /// <summary>Gets the <see cref="TimeProvider"/> timestamp at which the entry expires, or <see cref="long.MaxValue"/>.</summary>
    public long AbsoluteExpiry { get; }

    /// <summary>Gets the sliding window in timestamp ticks, or 0 for none.</summary>
    public long Sliding { get; }

    /// <summary>Gets or sets the timestamp of the last read (only maintained when <see cref="Sliding"/> is set).</summary>
    public long LastAccess { get; set; }

    public bool HasExpiry => AbsoluteExpiry != long.MaxValue || Sliding != 0;

    public bool IsExpired(long now) => now >= AbsoluteExpiry || (Sliding != 0 && now - LastAccess >= Sliding);
}
