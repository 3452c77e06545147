namespace SafeRefs.Internal;

/// <summary>
/// One resident cache entry: the key, the value, its place in the policy queues and a small access counter.
/// Readers touch only <see cref="Value"/> and <see cref="Frequency"/>; everything else changes under the cache's
/// write lock. A node that leaves the cache is unlinked from its queue and from the map at once, so nothing the
/// cache owns references it (or its value) afterwards.
/// </summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
internal class CacheNode<TKey, TValue>
    where TKey : notnull
{
    private TValue _value;

    public CacheNode(TKey key, TValue value)
    {
        Key = key;
        _value = value;
    }

    public TKey Key { get; }

    /// <summary>Gets or sets the value; updated in place only when writes of <typeparamref name="TValue"/> are
    /// atomic, so readers never see a torn value.</summary>
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

    /// <summary>Gets or sets the queue the node is linked in: 0 none, 1 probation (small), 2 protected (main).
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
}
