namespace SafeRefs.Caching.Internal;

/// <summary>
/// One resident cache entry: the key, the value, its place in the policy queues and a small access counter.
/// Readers touch only <see cref="Value"/> and <see cref="Frequency"/>; everything else changes under the cache's
/// write lock. An in-place update of <see cref="Value"/> holds the node's own monitor instead (the node is never
/// exposed, so nothing else locks it; an uncontended monitor lives in the object header and costs no field), and a
/// node that leaves is read under that monitor once unlinked (see <c>CacheEngine.TryUpdateInPlace</c>). A node that leaves the cache is unlinked from its queue and from the key index at once, so nothing
/// the cache owns references it (or its value) afterwards. It keeps only its own index link (see
/// <see cref="CacheTable{TKey, TValue}"/>), which points at nodes that are still resident or equally unreachable.
/// </summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
internal class CacheNode<TKey, TValue>
    where TKey : notnull
{
    private TValue _value;
    private CacheNode<TKey, TValue>? _hashNext;

    public CacheNode(TKey key, int hash, TValue value)
    {
        Key = key;
        Hash = hash;
        _value = value;
    }

    public TKey Key { get; }

    /// <summary>Gets the key's hash code (by the cache's comparer), kept so that the index and the policy's sketch
    /// never hash a key twice.</summary>
    public int Hash { get; }

    /// <summary>Gets or sets the next node of the same index chain (release store, acquire load).</summary>
    public CacheNode<TKey, TValue>? HashNext
    {
        get => Volatile.Read(ref _hashNext);
        set => Volatile.Write(ref _hashNext, value);
    }

    /// <summary>Gets the chain link itself, for unlinking by reference under the write lock.</summary>
    public ref CacheNode<TKey, TValue>? HashNextSlot => ref _hashNext;

    /// <summary>Gets or sets the value; updated in place (under the node's monitor) only when writes of
    /// <typeparamref name="TValue"/> are atomic, so lock-free readers never see a torn value.</summary>
    public TValue Value
    {
        get => _value;
        set => _value = value;
    }

    public CacheNode<TKey, TValue>? Previous { get; set; }

    public CacheNode<TKey, TValue>? Next { get; set; }

    /// <summary>Gets or sets the saturating access counter (0–3), raised by hits without synchronisation.</summary>
    public byte Frequency { get; set; }

    private byte _queue;

    /// <summary>Gets or sets the policy queue the node is linked in (0 none; see <see cref="CachePolicy{TKey, TValue}"/>).
    /// Set to 0 (under the write lock) before the node leaves the map.</summary>
    public byte Queue
    {
        get => _queue;
        set => Volatile.Write(ref _queue, value);
    }

    public bool IsLinkedVolatile => Volatile.Read(ref _queue) != 0;

    /// <summary>Gets or sets the priority level (index of the policy the node lives in).</summary>
    public byte Level { get; set; }

    /// <summary>Gets or sets a value indicating whether a read must check expiry or staleness (fits in the padding).</summary>
    public bool CheckOnRead { get; set; }

    /// <summary>Gets or sets a value indicating whether a read must ask the cache's staleness check about the value
    /// (set when it was written; fits in the padding).</summary>
    public bool MayBecomeStale { get; set; }
}
