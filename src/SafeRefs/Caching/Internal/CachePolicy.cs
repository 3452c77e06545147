namespace SafeRefs.Caching.Internal;

/// <summary>
/// A scan-resistant eviction policy for one priority level (S3-FIFO family): new keys enter a small probation
/// queue; a key read while on probation is promoted to the main queue, the others leave and are remembered in the
/// ghost filter (a key that comes back soon after enters the main queue directly). The main queue is a CLOCK
/// with a 2-bit counter: a tail entry that was read gets another lap. Only the write path (under the cache's lock)
/// calls this type; hits only raise <see cref="CacheNode{TKey,TValue}.Frequency"/>.
/// </summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
internal sealed class CachePolicy<TKey, TValue>
    where TKey : notnull
{
    private const byte Probation = 1;
    private const byte Protected = 2;

    private CacheNodeList<TKey, TValue> _probation;
    private CacheNodeList<TKey, TValue> _protected;

    public int Count => _probation.Count + _protected.Count;

    /// <summary>The most entries one eviction moves instead of evicting (second chances of the CLOCK).</summary>
    public const int MaxSecondChances = 64;

    // At least two: with one probation place, a key written and read back after one more write was always gone
    // (the next write evicted it) in caches below 20 entries, where any LRU keeps it.
    private int ProbationTarget => Math.Max(2, Count / 10);

    private static bool IsExpired(CacheNode<TKey, TValue> node, long? now)
        => now is { } at && node is RichCacheNode<TKey, TValue> { HasExpiry: true } rich && rich.IsExpired(at);

    public void Insert(CacheNode<TKey, TValue> node, bool toProtected)
    {
        if (toProtected)
        {
            node.Queue = Protected;
            _protected.AddFirst(node);
        }
        else
        {
            node.Queue = Probation;
            _probation.AddFirst(node);
        }
    }

    /// <summary>Inserts a replacement where the entry it replaces was (captured before that one was unlinked).</summary>
    public void InsertReplacement(CacheNode<TKey, TValue> node, byte previousQueue, byte previousFrequency)
    {
        node.Frequency = previousFrequency;
        Insert(node, previousQueue == Protected);
    }

    public void Remove(CacheNode<TKey, TValue> node)
    {
        if (node.Queue == Probation)
        {
            _probation.Remove(node);
        }
        else
        {
            _protected.Remove(node);
        }

        node.Queue = 0;
    }

    /// <summary>Chooses, unlinks and returns the entry to evict; the caller removes it from the map.</summary>
    /// <param name="ghost">Remembers keys evicted from probation.</param>
    /// <param name="residentCount">The cache's entry count (sizes the ghost filter).</param>
    /// <param name="now">The current timestamp when entries may expire, else <see langword="null"/>: an expired
    /// entry met while choosing is evicted first, whatever its queue or counter.</param>
    /// <returns>The victim, and whether it had expired.</returns>
    /// <remarks>At most <see cref="MaxSecondChances"/> entries get another lap per call: after that the next
    /// candidate leaves, so the work under the cache's lock is bounded even when every entry is hot.</remarks>
    public (CacheNode<TKey, TValue> Victim, bool Expired) Evict(GhostFilter ghost, int residentCount, long? now)
    {
        var chances = 0;
        while (true)
        {
            // Probation's share is 10 % of what this policy holds now (not of the cache's capacity): a priority
            // level that holds a small part of the cache still evicts one-time keys before its protected ones.
            if (_probation.Count > 0 && (_probation.Count >= ProbationTarget || _protected.Count == 0))
            {
                var tail = _probation.RemoveLast();
                if (IsExpired(tail, now))
                {
                    tail.Queue = 0;
                    return (tail, true);
                }

                if (tail.Frequency > 0 && chances++ < MaxSecondChances)
                {
                    tail.Frequency = 0;
                    tail.Queue = Protected;
                    _protected.AddFirst(tail);
                    continue;
                }

                tail.Queue = 0;
                ghost.Add(tail.Hash, residentCount);
                return (tail, false);
            }

            var victim = _protected.RemoveLast();
            if (IsExpired(victim, now))
            {
                victim.Queue = 0;
                return (victim, true);
            }

            if (victim.Frequency > 0 && chances++ < MaxSecondChances)
            {
                victim.Frequency--;
                _protected.AddFirst(victim);
                continue;
            }

            victim.Queue = 0;
            return (victim, false);
        }
    }

    /// <summary>Adds every node (probation first, each queue from its head) to <paramref name="sink"/>.</summary>
    public void AppendTo(List<CacheNode<TKey, TValue>> sink)
    {
        for (var node = _probation.Head; node is not null; node = node.Next)
        {
            sink.Add(node);
        }

        for (var node = _protected.Head; node is not null; node = node.Next)
        {
            sink.Add(node);
        }
    }

    /// <summary>Unlinks every node and adds it to <paramref name="sink"/>.</summary>
    public void DrainTo(List<CacheNode<TKey, TValue>> sink)
    {
        AppendTo(sink);
        foreach (var node in sink)
        {
            node.Previous = null;
            node.Next = null;
            node.Queue = 0;
        }

        _probation.Clear();
        _protected.Clear();
    }
}
