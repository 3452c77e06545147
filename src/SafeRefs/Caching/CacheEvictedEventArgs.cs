namespace SafeRefs.Caching;

/// <summary>Describes an entry that left a <see cref="BoundedLruCache{TKey, TValue}"/>.</summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
/// <remarks>
/// <para><b>Holds</b> the key and value strongly; the cache itself no longer references them, so keep the
/// arguments only as long as you need them.</para>
/// <para><b>Thread safety:</b> immutable.</para>
/// </remarks>
public sealed class CacheEvictedEventArgs<TKey, TValue> : EventArgs
    where TKey : notnull
{
    /// <summary>Initializes a new instance of the <see cref="CacheEvictedEventArgs{TKey, TValue}"/> class.</summary>
    /// <param name="key">The key of the entry.</param>
    /// <param name="value">The value the entry held.</param>
    /// <param name="reason">Why the entry left.</param>
    public CacheEvictedEventArgs(TKey key, TValue value, CacheEvictionReason reason)
    {
        Key = key;
        Value = value;
        Reason = reason;
    }

    /// <summary>Gets the key of the entry that left.</summary>
    /// <value>The key.</value>
    public TKey Key { get; }

    /// <summary>Gets the value the entry held.</summary>
    /// <value>The value.</value>
    public TValue Value { get; }

    /// <summary>Gets why the entry left.</summary>
    /// <value>The reason.</value>
    public CacheEvictionReason Reason { get; }
}
