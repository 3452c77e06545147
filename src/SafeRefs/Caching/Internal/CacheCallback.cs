namespace SafeRefs.Caching.Internal;

/// <summary>Which observer a cache called when it failed (the <c>callback</c> tag of <c>saferefs.cache.callback.failures</c>).</summary>
internal enum CacheCallback
{
    /// <summary>An <c>Evicted</c> event handler.</summary>
    Evicted,

    /// <summary>The owning cache's removal hook (<c>BoundedMemoryCache</c>'s entry bookkeeping).</summary>
    Removal,

    /// <summary><see cref="IDisposable.Dispose"/> of a value that left the cache.</summary>
    ValueDispose,

    /// <summary>A <c>PostEvictionCallbackRegistration</c> of a <c>BoundedMemoryCache</c> entry.</summary>
    PostEviction,

    /// <summary>Disposing an expiration token's change-callback registration.</summary>
    TokenRegistration,

    /// <summary>An <c>Updated</c> event handler.</summary>
    Updated,
}
