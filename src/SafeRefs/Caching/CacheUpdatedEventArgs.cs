namespace SafeRefs.Caching;

/// <summary>Describes a live entry of a <see cref="BoundedLruCache{TKey, TValue}"/> whose value was replaced.</summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
/// <remarks>
/// <para><b>Holds</b> the key and both values strongly; the cache no longer references the old value, so keep the
/// arguments only as long as you need them.</para>
/// <para><b>Thread safety:</b> immutable.</para>
/// </remarks>
public sealed class CacheUpdatedEventArgs<TKey, TValue> : EventArgs
    where TKey : notnull
{
    /// <summary>Initializes a new instance of the <see cref="CacheUpdatedEventArgs{TKey, TValue}"/> class.</summary>
    /// <param name="key">The key of the entry.</param>
    /// <param name="oldValue">The value the entry held before.</param>
    /// <param name="newValue">The value the entry holds now.</param>
    public CacheUpdatedEventArgs(TKey key, TValue oldValue, TValue newValue)
    {
        Key = key;
        OldValue = oldValue;
        NewValue = newValue;
    }

    /// <summary>Gets the key of the updated entry.</summary>
    /// <value>The key.</value>
    public TKey Key { get; }

    /// <summary>Gets the value the entry held before the update.</summary>
    /// <value>The old value.</value>
    public TValue OldValue { get; }

    /// <summary>Gets the value the entry holds after the update.</summary>
    /// <value>The new value.</value>
    public TValue NewValue { get; }
}
