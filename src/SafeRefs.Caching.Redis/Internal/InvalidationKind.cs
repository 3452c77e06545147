namespace SafeRefs.Caching.Redis.Internal;

/// <summary>What an invalidation message asks the other instances to drop.</summary>
internal enum InvalidationKind
{
    /// <summary>One cache key.</summary>
    Key = 'k',

    /// <summary>Every entry carrying a HybridCache tag (<c>*</c> for all).</summary>
    Tag = 't',

    /// <summary>Every local entry: the sender could not publish some of its messages.</summary>
    Clear = 'c',
}
