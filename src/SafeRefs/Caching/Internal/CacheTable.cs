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
/// on it still reaches the rest of the chain; nothing in the table references a removed node afterwards.
/// <para>Growth is incremental, so that no single write does work that grows with the table: once the nodes
/// outnumber the buckets, the next write hands in a bucket array twice as large, allocated before it took the lock
/// (<see cref="AllocateGrowth"/>, <see cref="StartGrowth"/>); from then on new nodes go to the new array, and each
/// <see cref="Add"/> moves at most <see cref="StepsPerAdd"/> nodes (or emptied old buckets) from the old array to
/// the new one. While a migration runs, a node is in exactly one of the two arrays, and a lookup that misses in the
/// new array looks in the old one.</para>
/// <para>Readers retry a miss that may have overlapped a move (hits are always right: the key matched). The version
/// says what they may assume: even when no migration runs (one array: the only state the hit and miss fast path
/// accepts), ≡ 1 (mod 4) while one runs and no node is moving (look in both arrays), ≡ 3 (mod 4) while nodes move
/// (wait). A miss is final when the version read before and after the scans is the same and not ≡ 3.</para>
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

    /// <summary>The most migration steps (a node moved to the new array, or an emptied old bucket passed) one
    /// <see cref="Add"/> does. A migration that starts with n nodes in n - 1 old buckets takes at most 2n steps, so it
    /// ends within n / 2 additions, long before the nodes outnumber the doubled array.</summary>
    public const int StepsPerAdd = 4;

    // Null when TKey is a value type compared by its default comparer: calls through EqualityComparer<TKey>.Default
    // are then devirtualised and inlined.
    private readonly IEqualityComparer<TKey>? _comparer;
    private readonly int _initialBuckets;
    private CacheNode<TKey, TValue>?[] _buckets; // where new nodes go (the whole index when no migration runs)
    private CacheNode<TKey, TValue>?[]? _old;    // while a migration runs: the array it empties, else null
    private int _oldMoved;                       // old buckets below this index are empty
    private int _version;
    private long _migrationSteps;

    /// <param name="capacity">The most nodes the cache keeps; the table starts with that many buckets (rounded up to a
    /// power of two, at least 16), at most <paramref name="maxInitialBuckets"/>, and doubles as the nodes outnumber its buckets.</param>
    /// <param name="comparer">The key comparer, or <see langword="null"/> for the default one.</param>
    /// <param name="maxInitialBuckets">The most buckets allocated up front (tests lower it to exercise growth).</param>
    public CacheTable(int capacity, IEqualityComparer<TKey>? comparer, int maxInitialBuckets = MaxInitialBuckets)
    {
        _comparer = typeof(TKey).IsValueType && (comparer is null || ReferenceEquals(comparer, EqualityComparer<TKey>.Default))
            ? null
            : comparer ?? EqualityComparer<TKey>.Default;
        _initialBuckets = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(Math.Max(capacity, 16), 1, Math.Max(1, maxInitialBuckets)));
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
    /// lock-free, with the same retry rule as <see cref="Find"/>.</summary>
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
            if ((version & 3) != 3)
            {
                var node = ScanAlternate(Volatile.Read(ref Unsafe.AsRef(in _buckets)), key, hash, comparer);
                if (node is null && (version & 1) != 0 && Volatile.Read(ref Unsafe.AsRef(in _old)) is { } old)
                {
                    node = ScanAlternate(old, key, hash, comparer);
                }

                if (node is not null || version == Volatile.Read(ref Unsafe.AsRef(in _version)))
                {
                    return node;
                }
            }

            spinner.SpinOnce();
        }
    }

    /// <summary>Allocates the bucket array for <see cref="StartGrowth"/> when <paramref name="count"/> nodes outnumber
    /// the buckets and no migration runs; else returns <see langword="null"/>. Lock-free: a writer calls it before it
    /// takes the write lock, so that clearing a large array never delays other writers.</summary>
    /// <param name="count">The number of resident nodes.</param>
    public readonly CacheNode<TKey, TValue>?[]? AllocateGrowth(int count)
    {
        var length = Volatile.Read(ref Unsafe.AsRef(in _buckets)).Length;
        return count > length && length < MaxBuckets && Volatile.Read(ref Unsafe.AsRef(in _old)) is null
            ? new CacheNode<TKey, TValue>?[length * 2]
            : null;
    }

    /// <summary>Starts migrating to <paramref name="grown"/> (from <see cref="AllocateGrowth"/>, never used before), unless
    /// a migration runs or another writer already grew the table. O(1). Caller holds the write lock.</summary>
    /// <returns><see langword="true"/> if a migration started.</returns>
    public bool StartGrowth(CacheNode<TKey, TValue>?[] grown)
    {
        if (_old is not null || grown.Length != _buckets.Length * 2)
        {
            return false;
        }

        // The version says to look in both arrays before the new one replaces the old: a lookup that read the version
        // of one array and then the new, still empty, array sees the version change on its re-check and retries.
        Volatile.Write(ref _old, _buckets);
        _oldMoved = 0;
        Volatile.Write(ref _version, _version + 1);
        Volatile.Write(ref _buckets, grown);
        GrowthPublishedHook?.Invoke();
        return true;
    }

    /// <summary>Test seam: called by <see cref="StartGrowth"/> on the writer's thread once the new array is published
    /// (a lookup made there must still find every resident node).</summary>
    internal static Action? GrowthPublishedHook { get; set; }

    /// <summary>Moves a bounded part of a running migration (as one <see cref="Add"/> does). Caller holds the write lock.</summary>
    /// <returns><see langword="true"/> while the migration still has nodes to move.</returns>
    public bool MigrateStep()
    {
        if (_old is null)
        {
            return false;
        }

        var steps = _migrationSteps;
        Migrate();
        _migrationSteps = steps; // MigrationSteps counts the work inserts do
        return _old is not null;
    }

    /// <summary>Links a node whose key is not resident, then moves a bounded part of a running migration. Caller
    /// holds the write lock.</summary>
    public void Add(CacheNode<TKey, TValue> node)
    {
        var buckets = _buckets;
        ref var head = ref buckets[Index(node.Hash, buckets.Length)];
        node.HashNext = head;
        Volatile.Write(ref head, node);
        if (_old is not null)
        {
            Migrate();
        }
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

    /// <summary>Gets the current number of buckets (of the array new nodes go to).</summary>
    public readonly int BucketCount => Volatile.Read(ref Unsafe.AsRef(in _buckets)).Length;

    /// <summary>Gets whether a migration runs (for tests).</summary>
    public readonly bool IsMigrating => Volatile.Read(ref Unsafe.AsRef(in _old)) is not null;

    /// <summary>Gets the migration steps inserts did so far (for tests: the work growth adds to an insert under the
    /// write lock; <see cref="MigrateStep"/> is not counted).</summary>
    public readonly long MigrationSteps => _migrationSteps;

    /// <summary>Forgets every node and shrinks back to the initial size (no large clear or allocation under the
    /// lock); ends a running migration. Caller holds the write lock.</summary>
    public void Clear()
    {
        Volatile.Write(ref _buckets, new CacheNode<TKey, TValue>?[_initialBuckets]);
        if (_old is not null)
        {
            Volatile.Write(ref _old, null);
            Volatile.Write(ref _version, (_version | 3) + 1); // from ≡ 1 to the next multiple of 4
        }
    }

    /// <summary>Enumerates the resident nodes, lock-free (a live view: concurrent writes may or may not be seen, and
    /// a node that a concurrent migration moves may be seen twice or not at all).</summary>
    public readonly IEnumerable<CacheNode<TKey, TValue>> Enumerate()
    {
        // The new array first: a node moves only from the old array to the new one.
        var buckets = Volatile.Read(ref Unsafe.AsRef(in _buckets));
        var old = Volatile.Read(ref Unsafe.AsRef(in _old));
        return EnumerateChains(buckets, ReferenceEquals(old, buckets) ? null : old);
    }

    private static IEnumerable<CacheNode<TKey, TValue>> EnumerateChains(CacheNode<TKey, TValue>?[] buckets, CacheNode<TKey, TValue>?[]? old)
    {
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

        for (var i = 0; old is not null && i < old.Length; i++)
        {
            for (var node = Volatile.Read(ref old[i]); node is not null; node = node.HashNext)
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
        // Fibonacci mixing, so keys that differ only in high bits (or share low bits) still spread. The bucket at
        // twice the length is the same one or that one plus the old length: a migration splits each old chain in two.
        var h = (uint)hash * 0x9E3779B9u;
        return (int)((h ^ (h >> 15)) & (uint)(length - 1));
    }

    private static CacheNode<TKey, TValue>? ScanAlternate<TAlternateKey>(CacheNode<TKey, TValue>?[] buckets, TAlternateKey key, int hash, IAlternateEqualityComparer<TAlternateKey, TKey> comparer)
        where TAlternateKey : notnull, allows ref struct
    {
        for (var node = Volatile.Read(ref buckets[Index(hash, buckets.Length)]); node is not null; node = node.HashNext)
        {
            if (node.Hash == hash && comparer.Equals(key, node.Key))
            {
                return node;
            }
        }

        return null;
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
        // A migration runs, or a miss overlapped a change of arrays: retry until one lookup ran entirely while no node
        // moved, looking in both arrays while a migration runs.
        var spinner = default(SpinWait);
        while (true)
        {
            var version = Volatile.Read(ref Unsafe.AsRef(in _version));
            if ((version & 3) != 3)
            {
                var node = Scan(Volatile.Read(ref Unsafe.AsRef(in _buckets)), key, hash);
                if (node is null && (version & 1) != 0 && Volatile.Read(ref Unsafe.AsRef(in _old)) is { } old)
                {
                    node = Scan(old, key, hash);
                }

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
        ref var link = ref LinkIn(_buckets, node);
        if (Unsafe.IsNullRef(ref link) && _old is { } old)
        {
            link = ref LinkIn(old, node);
        }

        return ref link;
    }

    private static ref CacheNode<TKey, TValue>? LinkIn(CacheNode<TKey, TValue>?[] buckets, CacheNode<TKey, TValue> node)
    {
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

    /// <summary>Moves up to <see cref="StepsPerAdd"/> nodes (or passes emptied buckets) from the old array to the new one.</summary>
    private void Migrate()
    {
        var old = _old!;
        var buckets = _buckets;
        Volatile.Write(ref _version, _version + 2); // ≡ 3: nodes move, readers wait
        var steps = 0;
        for (; steps < StepsPerAdd && _oldMoved < old.Length; steps++)
        {
            var node = old[_oldMoved];
            if (node is null)
            {
                _oldMoved++;
                continue;
            }

            ref var head = ref buckets[Index(node.Hash, buckets.Length)];
            Volatile.Write(ref old[_oldMoved], node.HashNext);
            node.HashNext = head;
            Volatile.Write(ref head, node);
        }

        _migrationSteps += steps;
        if (_oldMoved < old.Length)
        {
            Volatile.Write(ref _version, _version + 2); // ≡ 1: look in both arrays
        }
        else
        {
            Volatile.Write(ref _old, null);
            Volatile.Write(ref _version, _version + 1); // ≡ 0: one array
        }
    }
}
