using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using SafeRefs.Caching.Internal;

namespace SafeRefs.Caching;

/// <summary>
/// A thread-safe cache that never holds more than <see cref="Capacity"/> entries (and, optionally, never more than
/// a total weight): when full, a write evicts the least valuable entry instead of being rejected. Despite the name it
/// is not an LRU: the least valuable entry is chosen by frequency as well as recency (a W-TinyLFU-like policy, see
/// the remarks), and reads never reorder entries.
/// </summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
/// <remarks>
/// <para><b>Holds</b> the keys and values of its resident entries strongly, and nothing else: an entry that is
/// evicted, expired, removed, replaced or cleared is unlinked at once and its value is collectable without any
/// further cache traffic. The expiry sweep timer holds the cache only weakly, so an abandoned cache is collected
/// and its timer stops. The eviction policy remembers only hashes (approximate access counts, and recently evicted
/// keys), never keys or values.</para>
/// <para><b>Thread safety:</b> all members are thread-safe. Lookups (<see cref="TryGet"/> and the hit path of
/// <see cref="GetOrAdd(TKey, Func{TKey, TValue})"/>) are lock-free and allocate nothing; writes that add or remove
/// entries are serialised under one lock, which is what makes <see cref="Count"/> ≤ <see cref="Capacity"/> hold at
/// every instant for every observer (from capacity 65, replacing the value of a resident entry that has no expiry or
/// weight locks only that entry). <see cref="Evicted"/> and <see cref="Updated"/> handlers and value disposal run on the writing thread
/// after the lock is released. <see cref="Keys"/> and enumeration return a snapshot taken under the write lock, so
/// they are exact at one instant (and delay writers while they copy).</para>
/// <para><b>Policy:</b> not an LRU (a read only marks an entry, it does not move it). New keys enter a small window;
/// a key read there moves to the main queue, and an unread one moves there only if its estimated access frequency
/// (an aging count-min sketch of hashes) beats that of the entry it would push out; otherwise it leaves. So a burst of
/// one-time keys, or a loop over more keys than the cache holds, cannot flush the hot set. The window's size adapts to
/// the traffic (it grows when recently turned-away keys come back, and shrinks when recently evicted main entries
/// do), so recency-heavy traffic is served much as an LRU would serve it. A cache of capacity below 65 keeps write
/// order instead: it evicts the least recently written entry, so a key written and read back after fewer than
/// <see cref="Capacity"/> writes of other keys is always still there, as in an LRU (reads protect nothing there, and
/// every write of a resident key takes the lock).</para>
/// <para><b>Second <see cref="Dispose"/>:</b> does nothing. The first one stops the sweep timer and clears the
/// cache (raising <see cref="Evicted"/> with <see cref="CacheEvictionReason.Cleared"/> and disposing values when
/// <see cref="BoundedLruCacheOptions{TKey, TValue}.DisposeEvictedValues"/> is set); later calls of other members
/// throw <see cref="ObjectDisposedException"/>.</para>
/// </remarks>
public sealed partial class BoundedLruCache<TKey, TValue> : IEnumerable<KeyValuePair<TKey, TValue>>, IDisposable
    where TKey : notnull
{
    // The shared engine (also behind BoundedMemoryCache); this type is its public face.
    private readonly CacheEngine<TKey, TValue> _engine;

    /// <summary>Initializes a new instance of the <see cref="BoundedLruCache{TKey, TValue}"/> class.</summary>
    /// <param name="capacity">The maximum number of entries.</param>
    /// <param name="comparer">The key comparer, or <see langword="null"/> for the default one.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is less than 1.</exception>
    public BoundedLruCache(int capacity, IEqualityComparer<TKey>? comparer = null)
        : this(new BoundedLruCacheOptions<TKey, TValue> { Capacity = capacity, Comparer = comparer })
    {
    }

    /// <summary>Initializes a new instance of the <see cref="BoundedLruCache{TKey, TValue}"/> class.</summary>
    /// <param name="options">The settings; copied, so later changes do not affect the cache.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> or its <see cref="BoundedLruCacheOptions{TKey, TValue}.TimeProvider"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The capacity is less than 1, or the weight bound or an expiry is not positive.</exception>
    public BoundedLruCache(BoundedLruCacheOptions<TKey, TValue> options)
        : this(options, CacheTable<TKey, TValue>.MaxInitialBuckets)
    {
    }

    /// <summary>Creates a cache whose key index starts with at most <paramref name="maxInitialBuckets"/> buckets (tests
    /// lower it so that the index grows, and its growth overlaps their operations, at small sizes).</summary>
    internal BoundedLruCache(BoundedLruCacheOptions<TKey, TValue> options, int maxInitialBuckets)
    {
        _engine = new CacheEngine<TKey, TValue>(CacheEngineSettings<TKey, TValue>.From(options, this, maxInitialBuckets));
    }

    /// <summary>Raised after an entry left the cache, on the thread whose call removed it, outside the cache's lock.</summary>
    /// <remarks>A handler that throws never fails the call that removed the entry (a lookup, a write, a
    /// <c>GetOrAdd</c> or its joiners) and does not stop other handlers or value disposal: the exception is logged
    /// through <see cref="BoundedLruCacheOptions{TKey, TValue}.Logger"/> (event id 1400) and counted by the
    /// <c>saferefs.cache.callback.failures</c> metric.</remarks>
    public event EventHandler<CacheEvictedEventArgs<TKey, TValue>>? Evicted
    {
        add => _engine.Evicted += value;
        remove => _engine.Evicted -= value;
    }

    /// <summary>Raised after a write replaced the value of a live entry (<see cref="Set"/>, <see cref="AddOrUpdate"/>,
    /// <see cref="TryUpdate"/>), with the old and the new value, on the writing thread, outside the cache's lock.</summary>
    /// <remarks>The old value is also reported by <see cref="Evicted"/> with <see cref="CacheEvictionReason.Replaced"/>;
    /// this event is raised after those handlers and before the old value is disposed (with
    /// <see cref="BoundedLruCacheOptions{TKey, TValue}.DisposeEvictedValues"/>). Writing over an expired entry is not
    /// an update (the old entry is reported as <see cref="CacheEvictionReason.Expired"/>). A handler that throws never
    /// fails the write and does not stop other handlers: the exception is logged through
    /// <see cref="BoundedLruCacheOptions{TKey, TValue}.Logger"/> (event id 1407) and counted by the
    /// <c>saferefs.cache.callback.failures</c> metric (tag <c>callback</c> = <c>updated</c>).</remarks>
    public event EventHandler<CacheUpdatedEventArgs<TKey, TValue>>? Updated
    {
        add => _engine.Updated += value;
        remove => _engine.Updated -= value;
    }

    /// <summary>Gets the maximum number of entries.</summary>
    /// <value>The capacity given at construction.</value>
    public int Capacity => _engine.Capacity;

    /// <summary>Gets the comparer that decides whether two keys are equal.</summary>
    /// <value>The comparer given in the options, or <see cref="EqualityComparer{T}.Default"/>.</value>
    public IEqualityComparer<TKey> Comparer => _engine.Comparer;

    /// <summary>Gets a snapshot of the keys of the live entries.</summary>
    /// <value>A new collection on each read, taken at one instant (under the cache's write lock, so it costs
    /// O(<see cref="Count"/>) and delays concurrent writes while it copies); later writes do not change it. Entries
    /// that have expired but were not removed yet are left out. The order is unspecified.</value>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public IReadOnlyCollection<TKey> Keys => _engine.SnapshotKeys();

    /// <summary>Gets the exact number of resident entries (O(1)); never more than <see cref="Capacity"/>.</summary>
    /// <value>The entry count.</value>
    public int Count => _engine.Count;

    /// <summary>Gets the total weight of the resident entries (the entry count when no weight bound is set).</summary>
    /// <value>The total weight.</value>
    public long TotalWeight => _engine.TotalWeight;

    /// <summary>Gets a snapshot of the hit, miss and eviction counters.</summary>
    /// <value>A new snapshot on each read.</value>
    public CacheStatistics Statistics => _engine.Statistics;

    /// <summary>Looks a key up without locking or allocating.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The cached value, or the default value when the key is absent or expired.</param>
    /// <returns><see langword="true"/> if a live entry was found.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
    /// <remarks>A lookup that finds an expired entry removes it: it then takes the write lock briefly and raises
    /// <see cref="Evicted"/> on the calling thread.</remarks>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGet(TKey key, [MaybeNullWhen(false)] out TValue value) => _engine.TryGet(key, out value);

    /// <summary>Writes a value, replacing any value for the key; evicts the least valuable entry if the cache is full.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The weigher returned a negative weight.</exception>
    /// <exception cref="ArgumentException">The weigher returned a weight above the weight bound; nothing is stored.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public void Set(TKey key, TValue value) => _engine.Set(key, value);

    /// <summary>Writes a value, replacing any value for the key (the same as <see cref="Set"/>, under the name
    /// BitFaster.Caching and <c>ConcurrentDictionary</c> users look for).</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The weigher returned a negative weight.</exception>
    /// <exception cref="ArgumentException">The weigher returned a weight above the weight bound; nothing is stored.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public void AddOrUpdate(TKey key, TValue value) => _engine.Set(key, value);

    /// <summary>Replaces the value of a live entry; does nothing when the key is absent or its entry has expired.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The new value.</param>
    /// <returns><see langword="true"/> if a live entry was updated; <see langword="false"/> if nothing was stored
    /// (the caller keeps <paramref name="value"/>: it is not disposed).</returns>
    /// <remarks>Atomic with respect to every other write: the value is stored only if the entry is live at the
    /// instant of the write. The old value is reported by <see cref="Evicted"/> (<see cref="CacheEvictionReason.Replaced"/>)
    /// and <see cref="Updated"/>, and disposed with <see cref="BoundedLruCacheOptions{TKey, TValue}.DisposeEvictedValues"/>
    /// unless it is the same instance.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The weigher returned a negative weight.</exception>
    /// <exception cref="ArgumentException">The weigher returned a weight above the weight bound; nothing is stored.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public bool TryUpdate(TKey key, TValue value) => _engine.TryUpdate(key, value);

    /// <summary>Removes an entry and hands its value to the caller.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The removed value, or the default value.</param>
    /// <returns><see langword="true"/> if an entry was removed.</returns>
    /// <remarks>The caller owns the returned value: it is not disposed, even with
    /// <see cref="BoundedLruCacheOptions{TKey, TValue}.DisposeEvictedValues"/>. <see cref="Evicted"/> still reports
    /// it with <see cref="CacheEvictionReason.Removed"/>.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public bool TryRemove(TKey key, [MaybeNullWhen(false)] out TValue value) => _engine.TryRemove(key, out value);

    /// <summary>Removes an entry; with <see cref="BoundedLruCacheOptions{TKey, TValue}.DisposeEvictedValues"/> its
    /// value is disposed, since nobody receives it.</summary>
    /// <param name="key">The key.</param>
    /// <returns><see langword="true"/> if an entry was removed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public bool TryRemove(TKey key) => _engine.TryRemove(key);

    /// <summary>Removes an entry only if it holds the given value (compared with <see cref="EqualityComparer{T}.Default"/>),
    /// atomically with respect to every other write.</summary>
    /// <param name="item">The key and the value the entry must hold.</param>
    /// <returns><see langword="true"/> if the entry was removed.</returns>
    /// <remarks>The entry is reported with <see cref="CacheEvictionReason.Removed"/>; with
    /// <see cref="BoundedLruCacheOptions{TKey, TValue}.DisposeEvictedValues"/> its value is disposed, as with
    /// <see cref="TryRemove(TKey)"/> (use <see cref="TryRemove(TKey, out TValue)"/> to take a value over).</remarks>
    /// <exception cref="ArgumentNullException">The key of <paramref name="item"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public bool TryRemove(KeyValuePair<TKey, TValue> item) => _engine.TryRemove(item);

    /// <summary>Removes up to <paramref name="count"/> entries, the least valuable first (in eviction order; an expired
    /// entry met on the way leaves first).</summary>
    /// <param name="count">How many entries to remove; more than <see cref="Count"/> empties the cache.</param>
    /// <returns>The number of entries removed: <c>Math.Min(count, Count)</c> at the instant of the call.</returns>
    /// <remarks>Atomic with respect to every other write. Each entry is reported by <see cref="Evicted"/> with
    /// <see cref="CacheEvictionReason.Trimmed"/> (or <see cref="CacheEvictionReason.Expired"/>) and its value is disposed
    /// with <see cref="BoundedLruCacheOptions{TKey, TValue}.DisposeEvictedValues"/>. Trimmed entries are not counted as
    /// evictions in <see cref="Statistics"/>; expired ones are. Unlike BitFaster's <c>Trim</c>, a count above the
    /// capacity is not an error.</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public int Trim(int count) => _engine.Trim(count);

    /// <summary>Returns an enumerator over a snapshot of the live entries.</summary>
    /// <returns>An enumerator of key/value pairs taken at one instant, like <see cref="Keys"/> (O(<see cref="Count"/>)
    /// under the write lock); later writes do not change what it returns. Enumerating is not a lookup: it neither
    /// counts hits nor changes what is evicted next.</returns>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public IEnumerator<KeyValuePair<TKey, TValue>> GetEnumerator()
        => ((IEnumerable<KeyValuePair<TKey, TValue>>)_engine.SnapshotEntries()).GetEnumerator();

    /// <inheritdoc cref="GetEnumerator"/>
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Removes every entry (each reported with <see cref="CacheEvictionReason.Cleared"/>).</summary>
    /// <remarks>With <see cref="BoundedLruCacheOptions{TKey, TValue}.DisposeEvictedValues"/>, every value is disposed
    /// even if some disposals throw; then the failure (or an <see cref="AggregateException"/> of all of them) is
    /// thrown to this caller. <see cref="Evicted"/> handler failures are only logged and counted.</remarks>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public void Clear() => _engine.Clear();

    /// <summary>Stops the sweep timer and clears the cache; see the remarks of the type.</summary>
    public void Dispose() => _engine.Dispose();

    /// <summary>Returns the cached value for <paramref name="key"/>, or creates, stores and returns it.</summary>
    /// <param name="key">The key.</param>
    /// <param name="factory">Creates the value; runs at most once per key at a time: concurrent callers for the
    /// same key wait for that one call and get its value (or its exception). A throwing factory stores nothing.</param>
    /// <returns>The cached or created value.</returns>
    /// <remarks>Do not call <c>GetOrAdd</c> for the same key from inside <paramref name="factory"/>: it would wait for
    /// itself. A call that arrives while a <see cref="GetOrAddAsync"/> factory runs for the same key waits for it,
    /// blocking its thread: do not mix the two for one key where that factory needs the blocked thread (a UI
    /// thread's synchronization context).</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> or <paramref name="factory"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public TValue GetOrAdd(TKey key, Func<TKey, TValue> factory) => _engine.GetOrAdd(key, factory);

    /// <summary>Returns the cached value for <paramref name="key"/>, or creates, stores and returns it, passing an
    /// argument to the factory (so it need not capture anything).</summary>
    /// <typeparam name="TArg">The type of the factory argument.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="factory">Creates the value; same guarantees as <see cref="GetOrAdd(TKey, Func{TKey, TValue})"/>.</param>
    /// <param name="factoryArgument">Passed to <paramref name="factory"/>.</param>
    /// <returns>The cached or created value.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> or <paramref name="factory"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public TValue GetOrAdd<TArg>(TKey key, Func<TKey, TArg, TValue> factory, TArg factoryArgument) => _engine.GetOrAdd(key, factory, factoryArgument);

    /// <summary>Returns the cached value for <paramref name="key"/>, or creates it asynchronously, stores and returns it.</summary>
    /// <param name="key">The key.</param>
    /// <param name="factory">Creates the value; runs at most once per key at a time and is shared by concurrent
    /// callers. Its token is cancelled only when every caller waiting for it has been cancelled.</param>
    /// <param name="cancellationToken">Cancels this caller's wait only; other callers still get the value.</param>
    /// <returns>The cached or created value.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> or <paramref name="factory"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask<TValue> GetOrAddAsync(TKey key, Func<TKey, CancellationToken, ValueTask<TValue>> factory, CancellationToken cancellationToken = default)
        => _engine.GetOrAddAsync(key, factory, cancellationToken);
}
