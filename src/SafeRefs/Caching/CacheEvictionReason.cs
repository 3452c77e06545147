namespace SafeRefs.Caching;

/// <summary>Why an entry left a <see cref="BoundedLruCache{TKey, TValue}"/>.</summary>
/// <remarks>Not named <c>EvictionReason</c>, which would clash with <c>Microsoft.Extensions.Caching.Memory.EvictionReason</c>
/// (what <see cref="BoundedMemoryCache"/> reports to post-eviction callbacks). Holds nothing; immutable.</remarks>
public enum CacheEvictionReason
{
    /// <summary>The cache was full (entry count at <see cref="BoundedLruCache{TKey, TValue}.Capacity"/>) and a new entry needed room.</summary>
    Capacity = 1,

    /// <summary>The total weight would have exceeded <see cref="BoundedLruCacheOptions{TKey, TValue}.MaxWeight"/>.</summary>
    Weight = 2,

    /// <summary>The entry expired (after write, after access, or an absolute or token expiration).</summary>
    Expired = 3,

    /// <summary>The entry was removed explicitly.</summary>
    Removed = 4,

    /// <summary>A new value was written for the same key.</summary>
    Replaced = 5,

    /// <summary>The cache was cleared or disposed.</summary>
    Cleared = 6,

    /// <summary>The entry was removed by <see cref="BoundedLruCache{TKey, TValue}.Trim(int)"/>.</summary>
    Trimmed = 7,
}
