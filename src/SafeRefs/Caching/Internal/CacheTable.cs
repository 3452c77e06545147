using System.Numerics;
using System.Runtime.CompilerServices;

namespace SafeRefs.Caching.Internal;

/// <summary>
/// The key index of a bounded cache: a chained hash table whose chain links live in the cache nodes themselves, so
/// an entry costs one node and one bucket slot instead of a dictionary node on top of the cache node, and a lookup
/// is two dependent loads.
/// </summary>
/// <remarks>
/// One writer at a time (the cache's write lock), any number of lock-free readers. Writers publish with release
/// stores; readers follow chains with acquire loads. A removed node keeps its chain link so that a reader standing
/// on it still reaches the rest of the chain; nothing in the table references a removed node afterwards. Growing
/// relinks nodes into a new bucket array, during which a reader could miss a resident key: the version is odd while
/// that happens and readers retry a miss that overlapped it (hits are always right: the key matched).
/// A mutable struct held in a field of its cache and used by reference only.
/// </remarks>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
internal struct CacheTable<TKey, TValue>
    where TKey : notnull
{
    private const int MaxBuckets = 1 << 30;

    /// <summary>The most buckets allocated up front: larger caches grow their index as they fill, so the index
    /// follows the entry count, not the capacity (a cache of capacity 100 M holding 1 000 entries has 1 024 buckets).</summary>
    public const int MaxInitialBuckets = 1 << 10;

    // Null when TKey is a value type compared by its default comparer: calls through EqualityComparer<TKey>.Default
    // are then devirtualised and inlined.
    private readonly IEqualityComparer<TKey>? _comparer;
    private readonly int _initialBuckets;
    private CacheNode<TKey, TValue>?[] _buckets;
    private int _version;

    /// <param name="capacity">The most nodes the cache keeps; the table starts with that many buckets (rounded up to a
    /// power of two), at most <paramref name="maxInitialBuckets"/>, and doubles as the nodes outnumber its buckets.</param>
    /// <param name="comparer">The key comparer, or <see langword="null"/> for the default one.</param>
    /// <param name="maxInitialBuckets">The most buckets allocated up front (tests lower it to exercise growth).</param>
    public CacheTable(int capacity, IEqualityComparer<TKey>? comparer, int maxInitialBuckets = MaxInitialBuckets)
    {
        _comparer = typeof(TKey).IsValueType && (comparer is null || ReferenceEquals(comparer, EqualityComparer<TKey>.Default))
            ? null
            : comparer ?? EqualityComparer<TKey>.Default;
        _initialBuckets = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(capacity, 16, Math.Max(16, maxInitialBuckets)));
        _buckets = new CacheNode<TKey, TValue>?[_initialBuckets];
    }

    /// <summary>Gets the hash code the table files <paramref name="key"/> under (the comparer's).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly int Hash(TKey key)
        => typeof(TKey).IsValueType && _comparer is null
            ? EqualityComparer<TKey>.Default.GetHashCode(key)
            : _comparer!.GetHashCode(key);

    /// <summary>Finds the resident node for <paramref name="key"/>, lock-free.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly CacheNode<TKey, TValue>? Find(TKey key, int hash)
    {
        var version = Volatile.Read(ref Unsafe.AsRef(in _version));
        return Scan(Volatile.Read(ref Unsafe.AsRef(in _buckets)), key, hash)
            ?? ((version & 1) == 0 && version == Volatile.Read(ref Unsafe.AsRef(in _version)) ? null : FindSlow(key, hash));
    }

    /// <summary>Finds the resident node whose key equals <paramref name="key"/> by <paramref name="comparer"/>,
    /// lock-free, with the same resize-retry rule as <see cref="Find"/>.</summary>
    /// <param name="key">The alternate key (such as a <see cref="ReadOnlySpan{T}"/> of <see cref="char"/> for a string key).</param>
    /// <param name="comparer">The table's comparer, seen as an alternate comparer: its hash codes match the keys'.</param>
    public readonly CacheNode<TKey, TValue>? FindAlternate<TAlternateKey>(TAlternateKey key, IAlternateEqualityComparer<TAlternateKey, TKey> comparer)
        where TAlternateKey : notnull, allows ref struct
    {
        var hash = comparer.GetHashCode(key);
        var spinner = default(SpinWait);
        while (true)
        {
            var version = Volatile.Read(ref Unsafe.AsRef(in _version));
            if ((version & 1) == 0)
            {
                var buckets = Volatile.Read(ref Unsafe.AsRef(in _buckets));
                for (var node = Volatile.Read(ref buckets[Index(hash, buckets.Length)]); node is not null; node = node.HashNext)
                {
                    if (node.Hash == hash && comparer.Equals(key, node.Key))
                    {
                        return node;
                    }
                }

                if (version == Volatile.Read(ref Unsafe.AsRef(in _version)))
                {
                    return null;
                }
            }

            spinner.SpinOnce();
        }
    }

    /// <summary>Links a node whose key is not resident. Caller holds the write lock; <paramref name="count"/> is
    /// the number of resident nodes after this one is added.</summary>
    public void Add(CacheNode<TKey, TValue> node, int count)
    {
        var buckets = _buckets;
        if (count > buckets.Length && buckets.Length < MaxBuckets)
        {
            buckets = Grow(buckets);
        }

        ref var head = ref buckets[Index(node.Hash, buckets.Length)];
        node.HashNext = head;
        Volatile.Write(ref head, node);
    }

    /// <summary>Puts <paramref name="replacement"/> (same key) where <paramref name="resident"/> is. Caller holds the write lock.</summary>
    public readonly void Replace(CacheNode<TKey, TValue> resident, CacheNode<TKey, TValue> replacement)
    {
        replacement.HashNext = resident.HashNext;
        ref var link = ref LinkTo(resident);
        Volatile.Write(ref link, replacement);
    }

    /// <summary>Unlinks <paramref name="node"/> if it is resident. Caller holds the write lock.</summary>
    /// <returns><see langword="true"/> if the node was resident.</returns>
    public readonly bool Remove(CacheNode<TKey, TValue> node)
    {
        ref var link = ref LinkTo(node);
        if (Unsafe.IsNullRef(ref link))
        {
            return false;
        }

        // The removed node keeps its own link: a reader standing on it continues down the chain.
        Volatile.Write(ref link, node.HashNext);
        return true;
    }

    /// <summary>Gets the current number of buckets.</summary>
    public readonly int BucketCount => Volatile.Read(ref Unsafe.AsRef(in _buckets)).Length;

    /// <summary>Forgets every node and shrinks back to the initial size (no large clear or allocation under the
    /// lock). Caller holds the write lock.</summary>
    public void Clear() => Volatile.Write(ref _buckets, new CacheNode<TKey, TValue>?[_initialBuckets]);

    /// <summary>Enumerates the resident nodes, lock-free (a live view: concurrent writes may or may not be seen).</summary>
    public readonly IEnumerable<CacheNode<TKey, TValue>> Enumerate()
    {
        var buckets = Volatile.Read(ref Unsafe.AsRef(in _buckets));
        for (var i = 0; i < buckets.Length; i++)
        {
            for (var node = Volatile.Read(ref buckets[i]); node is not null; node = node.HashNext)
            {
                if (node.IsLinkedVolatile)
                {
                    yield return node;
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Index(int hash, int length)
    {
        // Fibonacci mixing, so keys that differ only in high bits (or share low bits) still spread.
        var h = (uint)hash * 0x9E3779B9u;
        return (int)((h ^ (h >> 15)) & (uint)(length - 1));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly bool KeyEquals(TKey a, TKey b)
        => typeof(TKey).IsValueType && _comparer is null
            ? EqualityComparer<TKey>.Default.Equals(a, b)
            : _comparer!.Equals(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly CacheNode<TKey, TValue>? Scan(CacheNode<TKey, TValue>?[] buckets, TKey key, int hash)
    {
        for (var node = Volatile.Read(ref buckets[Index(hash, buckets.Length)]); node is not null; node = node.HashNext)
        {
            if (node.Hash == hash && KeyEquals(node.Key, key))
            {
                return node;
            }
        }

        return null;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly CacheNode<TKey, TValue>? FindSlow(TKey key, int hash)
    {
        // A miss overlapped a resize: retry until one lookup ran entirely between resizes.
        var spinner = default(SpinWait);
        while (true)
        {
            var version = Volatile.Read(ref Unsafe.AsRef(in _version));
            if ((version & 1) == 0)
            {
                var node = Scan(Volatile.Read(ref Unsafe.AsRef(in _buckets)), key, hash);
                if (node is not null || version == Volatile.Read(ref Unsafe.AsRef(in _version)))
                {
                    return node;
                }
            }

            spinner.SpinOnce();
        }
    }

    /// <summary>The slot (bucket head or a predecessor's link) that points at <paramref name="node"/>, or a null reference.</summary>
    private readonly ref CacheNode<TKey, TValue>? LinkTo(CacheNode<TKey, TValue> node)
    {
        var buckets = _buckets;
        ref var link = ref buckets[Index(node.Hash, buckets.Length)];
        while (link is not null)
        {
            if (ReferenceEquals(link, node))
            {
                return ref link;
            }

            link = ref link.HashNextSlot;
        }

        return ref Unsafe.NullRef<CacheNode<TKey, TValue>?>();
    }

    private CacheNode<TKey, TValue>?[] Grow(CacheNode<TKey, TValue>?[] buckets)
    {
        // Odd version while chains are being relinked: readers retry misses that overlap this.
        Volatile.Write(ref _version, _version + 1);
        var grown = new CacheNode<TKey, TValue>?[buckets.Length * 2];
        foreach (var first in buckets)
        {
            for (var node = first; node is not null;)
            {
                var next = node.HashNext;
                ref var head = ref grown[Index(node.Hash, grown.Length)];
                node.HashNext = head;
                head = node;
                node = next;
            }
        }

        Volatile.Write(ref _buckets, grown);
        Volatile.Write(ref _version, _version + 1);
        return grown;
    }
}
