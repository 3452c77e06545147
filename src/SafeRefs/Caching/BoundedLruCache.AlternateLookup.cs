using System.Diagnostics.CodeAnalysis;
using SafeRefs.Caching.Internal;

namespace SafeRefs.Caching;

/// <content>Lookups by an alternate key type (such as <see cref="ReadOnlySpan{T}"/> of <see cref="char"/> for string
/// keys), the shape of <c>Dictionary&lt;TKey, TValue&gt;.GetAlternateLookup</c>.</content>
public sealed partial class BoundedLruCache<TKey, TValue>
{
    /// <summary>Gets a view of the cache that takes <typeparamref name="TAlternateKey"/> keys, so that, for example,
    /// a <see cref="ReadOnlySpan{T}"/> of <see cref="char"/> finds a string key without allocating a string.</summary>
    /// <typeparam name="TAlternateKey">The alternate key type.</typeparam>
    /// <returns>The alternate view.</returns>
    /// <exception cref="InvalidOperationException"><see cref="Comparer"/> does not implement
    /// <see cref="IAlternateEqualityComparer{TAlternate, T}"/> for <typeparamref name="TAlternateKey"/> and
    /// <typeparamref name="TKey"/> (the default string comparer and the <see cref="StringComparer"/> singletons do,
    /// for <see cref="ReadOnlySpan{T}"/> of <see cref="char"/>).</exception>
    public AlternateLookup<TAlternateKey> GetAlternateLookup<TAlternateKey>()
        where TAlternateKey : notnull, allows ref struct
        => TryGetAlternateLookup<TAlternateKey>(out var lookup)
            ? lookup
            : throw new InvalidOperationException($"The cache's comparer does not implement IAlternateEqualityComparer<{typeof(TAlternateKey).Name}, {typeof(TKey).Name}>.");

    /// <summary>Gets a view of the cache that takes <typeparamref name="TAlternateKey"/> keys, if its comparer supports them.</summary>
    /// <typeparam name="TAlternateKey">The alternate key type.</typeparam>
    /// <param name="lookup">The alternate view, or the default value.</param>
    /// <returns><see langword="true"/> if <see cref="Comparer"/> implements
    /// <see cref="IAlternateEqualityComparer{TAlternate, T}"/> for <typeparamref name="TAlternateKey"/> and <typeparamref name="TKey"/>.</returns>
    public bool TryGetAlternateLookup<TAlternateKey>(out AlternateLookup<TAlternateKey> lookup)
        where TAlternateKey : notnull, allows ref struct
    {
        if (_engine.Comparer is IAlternateEqualityComparer<TAlternateKey, TKey> alternate)
        {
            lookup = new AlternateLookup<TAlternateKey>(this, alternate);
            return true;
        }

        lookup = default;
        return false;
    }

    /// <summary>The cache seen through an alternate key type; every operation has the same guarantees as the
    /// cache's own member of that name (each is the cache's operation on the resident key that equals the alternate
    /// key, or on a key created from it by the comparer when a new entry is stored).</summary>
    /// <typeparam name="TAlternateKey">The alternate key type.</typeparam>
    /// <remarks>
    /// <para><b>Holds</b> the cache and its comparer strongly (a small struct; keep it as long as the cache).</para>
    /// <para><b>Thread safety:</b> as the cache: all members are thread-safe. Lookups neither lock nor allocate.</para>
    /// </remarks>
    [SuppressMessage("Design", "CA1034:Nested types should not be visible", Justification = "The shape of Dictionary<TKey, TValue>.AlternateLookup<TAlternateKey>, which users already know.")]
    [SuppressMessage("Performance", "CA1815:Override equals and operator equals on value types", Justification = "A view of a cache, never compared, like Dictionary<TKey, TValue>.AlternateLookup<TAlternateKey>.")]
    public readonly struct AlternateLookup<TAlternateKey>
        where TAlternateKey : notnull, allows ref struct
    {
        private readonly IAlternateEqualityComparer<TAlternateKey, TKey> _comparer;

        internal AlternateLookup(BoundedLruCache<TKey, TValue> cache, IAlternateEqualityComparer<TAlternateKey, TKey> comparer)
        {
            Cache = cache;
            _comparer = comparer;
        }

        /// <summary>Gets the cache this view reads and writes.</summary>
        /// <value>The cache.</value>
        public BoundedLruCache<TKey, TValue> Cache { get; }

        /// <summary>Looks a key up without locking or allocating (counted as a hit or a miss, like <see cref="BoundedLruCache{TKey, TValue}.TryGet"/>).</summary>
        /// <param name="key">The alternate key.</param>
        /// <param name="value">The cached value, or the default value.</param>
        /// <returns><see langword="true"/> if a live entry was found.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
        /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
        public bool TryGet(TAlternateKey key, [MaybeNullWhen(false)] out TValue value) => TryGet(key, out _, out value);

        /// <summary>Looks a key up without locking or allocating, and returns the resident key it matched.</summary>
        /// <param name="key">The alternate key.</param>
        /// <param name="actualKey">The resident key, or the default value.</param>
        /// <param name="value">The cached value, or the default value.</param>
        /// <returns><see langword="true"/> if a live entry was found.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
        /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
        public bool TryGet(TAlternateKey key, [MaybeNullWhen(false)] out TKey actualKey, [MaybeNullWhen(false)] out TValue value)
        {
            var engine = Cache._engine;
            var node = engine.FindAlternate(key, _comparer);
            if (engine.CountLookup(node))
            {
                actualKey = node.Key;
                value = node.Value;
                return true;
            }

            actualKey = default;
            value = default;
            return false;
        }

        /// <summary>Removes an entry and hands its key and value to the caller (like
        /// <see cref="BoundedLruCache{TKey, TValue}.TryRemove(TKey, out TValue)"/>: the value is not disposed).</summary>
        /// <param name="key">The alternate key.</param>
        /// <param name="actualKey">The removed key, or the default value.</param>
        /// <param name="value">The removed value, or the default value.</param>
        /// <returns><see langword="true"/> if an entry was removed.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
        /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
        public bool TryRemove(TAlternateKey key, [MaybeNullWhen(false)] out TKey actualKey, [MaybeNullWhen(false)] out TValue value)
        {
            if (Cache._engine.FindAlternate(key, _comparer) is { } node && Cache.TryRemove(node.Key, out value))
            {
                actualKey = node.Key;
                return true;
            }

            actualKey = default;
            value = default;
            return false;
        }

        /// <summary>Replaces the value of a live entry (see <see cref="BoundedLruCache{TKey, TValue}.TryUpdate"/>).</summary>
        /// <param name="key">The alternate key.</param>
        /// <param name="value">The new value.</param>
        /// <returns><see langword="true"/> if a live entry was updated.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
        /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
        public bool TryUpdate(TAlternateKey key, TValue value)
            => Cache._engine.FindAlternate(key, _comparer) is { } node && Cache.TryUpdate(node.Key, value);

        /// <summary>Writes a value (see <see cref="BoundedLruCache{TKey, TValue}.Set"/>); the key is created from
        /// <paramref name="key"/> by the comparer only when no entry has it.</summary>
        /// <param name="key">The alternate key.</param>
        /// <param name="value">The value.</param>
        /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
        /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
        public void AddOrUpdate(TAlternateKey key, TValue value) => Cache.Set(ResidentOrNewKey(key), value);

        /// <summary>Returns the cached value, or creates, stores and returns it (see
        /// <see cref="BoundedLruCache{TKey, TValue}.GetOrAdd(TKey, Func{TKey, TValue})"/>); the key is created from
        /// <paramref name="key"/> only on a miss, and the factory receives it.</summary>
        /// <param name="key">The alternate key.</param>
        /// <param name="factory">Creates the value from the created key.</param>
        /// <returns>The cached or created value.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="key"/> or <paramref name="factory"/> is <see langword="null"/>.</exception>
        /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
        public TValue GetOrAdd(TAlternateKey key, Func<TKey, TValue> factory)
        {
            ArgumentNullException.ThrowIfNull(factory);
            return TryGet(key, out var value) ? value : Cache._engine.GetOrAddSlow(ResidentOrNewKey(key), static (k, f) => f(k), factory);
        }

        /// <summary>Returns the cached value, or creates, stores and returns it, passing an argument to the factory.</summary>
        /// <typeparam name="TArg">The type of the factory argument.</typeparam>
        /// <param name="key">The alternate key.</param>
        /// <param name="factory">Creates the value from the created key and <paramref name="factoryArgument"/>.</param>
        /// <param name="factoryArgument">Passed to <paramref name="factory"/>.</param>
        /// <returns>The cached or created value.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="key"/> or <paramref name="factory"/> is <see langword="null"/>.</exception>
        /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
        public TValue GetOrAdd<TArg>(TAlternateKey key, Func<TKey, TArg, TValue> factory, TArg factoryArgument)
        {
            ArgumentNullException.ThrowIfNull(factory);
            return TryGet(key, out var value) ? value : Cache._engine.GetOrAddSlow(ResidentOrNewKey(key), factory, factoryArgument);
        }

        private TKey ResidentOrNewKey(TAlternateKey key)
            => Cache._engine.FindAlternate(key, _comparer) is { } node ? node.Key : _comparer.Create(key);
    }
}
