namespace SafeRefs.Caching;

/// <summary>
/// A disposable value shared by a cache and its readers: it is disposed only when the cache has let it go
/// <em>and</em> the last reader's <see cref="ScopedLease{T}"/> has ended, so a reader never uses a value that an
/// eviction on another thread disposed under it. Store it in a cache with
/// <see cref="BoundedLruCacheOptions{TKey, TValue}.DisposeEvictedValues"/> set and read it with
/// <see cref="ScopedCacheExtensions.TryGetLease{TKey, T}(BoundedLruCache{TKey, Scoped{T}}, TKey, out ScopedLease{T})"/>.
/// </summary>
/// <typeparam name="T">The value type.</typeparam>
/// <remarks>
/// <para>The same idea as BitFaster.Caching's <c>Scoped&lt;T&gt;</c> and its <c>Lifetime&lt;T&gt;</c>: a reference count
/// held by the owner (the cache, released by <see cref="Dispose"/>) and by each lease.</para>
/// <para><b>Holds</b> the value strongly until it is disposed.</para>
/// <para><b>Thread safety:</b> all members are thread-safe; the count changes with one interlocked operation.</para>
/// <para><b>Second <see cref="Dispose"/>:</b> does nothing: the owner's reference is released once.</para>
/// </remarks>
public sealed class Scoped<T> : IDisposable
    where T : IDisposable
{
    private readonly T _value;
    private int _references = 1; // the owner's, plus one per live lease; the value is disposed when it reaches 0
    private int _released;       // 1 once the owner let go: no new lease

    /// <summary>Initializes a new instance of the <see cref="Scoped{T}"/> class, owning <paramref name="value"/>.</summary>
    /// <param name="value">The value, disposed when the owner and every lease have let it go.</param>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is <see langword="null"/>.</exception>
    public Scoped(T value)
    {
        ArgumentNullException.ThrowIfNull(value);
        _value = value;
    }

    /// <summary>Gets a value indicating whether the owner has let the value go (no new lease can be taken).</summary>
    /// <value><see langword="true"/> after <see cref="Dispose"/>.</value>
    public bool IsReleased => Volatile.Read(ref _released) != 0;

    /// <summary>Takes a lease on the value, unless the owner has already let it go.</summary>
    /// <param name="lease">The lease; dispose it when done with the value.</param>
    /// <returns><see langword="true"/> if the lease was taken.</returns>
    public bool TryLease([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ScopedLease<T>? lease)
    {
        var references = Volatile.Read(ref _references);
        while (references > 0 && !IsReleased)
        {
            var seen = Interlocked.CompareExchange(ref _references, references + 1, references);
            if (seen == references)
            {
                lease = new ScopedLease<T>(this, _value);
                return true;
            }

            references = seen;
        }

        lease = null;
        return false;
    }

    /// <summary>Releases the owner's reference: the value is disposed now if no lease is live, else when the last
    /// lease ends.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            Release();
        }
    }

    internal void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            _value.Dispose();
        }
    }
}
