using System.Diagnostics.CodeAnalysis;

namespace SafeRefs.Caching;

/// <summary>Reads of caches whose values are <see cref="Scoped{T}"/>: the value stays usable for the whole lease.</summary>
/// <remarks>
/// <para><b>Holds</b> nothing.</para>
/// <para><b>Thread safety:</b> as thread-safe as the cache.</para>
/// </remarks>
public static class ScopedCacheExtensions
{
    /// <summary>Looks <paramref name="key"/> up and takes a lease on its value.</summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="cache">The cache, created with <see cref="BoundedLruCacheOptions{TKey, TValue}.DisposeEvictedValues"/>
    /// set so that a value leaving the cache releases the cache's reference.</param>
    /// <param name="key">The key.</param>
    /// <param name="lease">The lease; dispose it when done with the value.</param>
    /// <returns><see langword="true"/> if a live entry was found and leased.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="cache"/> or <paramref name="key"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public static bool TryGetLease<TKey, T>(this BoundedLruCache<TKey, Scoped<T>> cache, TKey key, [NotNullWhen(true)] out ScopedLease<T>? lease)
        where TKey : notnull
        where T : IDisposable
    {
        ArgumentNullException.ThrowIfNull(cache);

        // A value read just as it left the cache may already be released: read again, a few times at most (a
        // released value still in the cache means its owner disposed it by hand).
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (!cache.TryGet(key, out var scoped))
            {
                break;
            }

            if (scoped.TryLease(out lease))
            {
                return true;
            }
        }

        lease = null;
        return false;
    }
}
