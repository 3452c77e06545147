namespace SafeRefs.Caching.Internal;

/// <summary>
/// The eviction policy of one priority level: a small window that every new key enters, a main queue (a probation and a
/// protected part), and an admission test between them, in the W-TinyLFU family. It is not an LRU: reads never reorder
/// entries, they only raise a per-entry counter. Caches of fewer than <see cref="WriteOrderBelow"/> entries keep write
/// order instead.
/// </summary>
/// <remarks>
/// <para>Write order (below <see cref="WriteOrderBelow"/>): every write puts its key at the window's head and the
/// window's tail leaves; the other queues stay empty. A key written and then followed by fewer than capacity writes of
/// other keys is therefore always still there, as in an LRU. No frequency-based policy can promise that: when every
/// key of a full cache was written within the last capacity writes (a run of misses), the promise leaves exactly one
/// possible victim, the least recently written key, so any admission test or second chance breaks it. The price: reads
/// protect nothing in such a cache (no scan or loop resistance, no frequency gain on skewed traffic); docs/caching.md
/// has the figures.</para>
/// <para>A key read while in the window moves to the protected part. A key that reaches the window's tail unread enters
/// the probation part only if its estimated frequency (<see cref="FrequencySketch"/>) beats that of the probation
/// part's victim by more than one; otherwise it leaves. This keeps one-time keys (scans) and equally frequent keys
/// (loops) from pushing out what the main queue holds. Both parts are CLOCKs: a probation tail read since it was last
/// passed moves to the protected part; a protected tail read since it was last passed gets another lap, an unread one
/// goes back to probation when the protected part holds more than half the main queue. Reads are folded into the
/// sketch as the hand passes. Entries read in the main queue thus stay out of reach of new keys, however long a scan
/// lasts.</para>
/// <para>The window's size adapts: a miss on a key the window recently turned away (a small ghost filter) means a
/// larger window would have kept it, so it grows by one; a miss on a key the main queue recently pushed out means the
/// main queue is worth more, so it shrinks by one. The ghosts remember about twice the window's size, which keeps a loop
/// larger than the cache (whose keys come back only after a long absence) from inflating the window.</para>
/// <para>Only the write path (under the cache's lock) calls this type, and each call does bounded work:
/// at most <see cref="MaxSecondChances"/> moves per eviction, O(1) sketch and ghost operations.</para>
/// </remarks>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
internal sealed class CachePolicy<TKey, TValue>
    where TKey : notnull
{
    /// <summary>The most entries one eviction moves (promotions, admissions, second chances) before one leaves.</summary>
    public const int MaxSecondChances = 64;

    /// <summary>Caches of a capacity below this keep write order (an LRU over writes) instead of the frequency policy.</summary>
    public const int WriteOrderBelow = 65;

    private const byte Window = 1;
    private const byte Probation = 2;
    private const byte Protected = 3;

    // At least two: with one window place, a key written and read back after one more write was always gone (the next
    // write evicted it) in small caches, where any LRU keeps it.
    private const int MinWindow = 2;

    private readonly bool _writeOrder;
    private readonly GhostFilter _windowGhost;
    private readonly GhostFilter _mainGhost;
    private CacheNodeList<TKey, TValue> _window;
    private CacheNodeList<TKey, TValue> _probation;
    private CacheNodeList<TKey, TValue> _protected;
    private int _windowTarget = MinWindow;

    /// <summary>Creates an empty policy.</summary>
    /// <param name="capacity">The cache's capacity (bounds what the ghost filters may grow to).</param>
    public CachePolicy(int capacity)
    {
        _writeOrder = capacity < WriteOrderBelow;
        _windowGhost = new GhostFilter(capacity);
        _mainGhost = new GhostFilter(capacity);
    }

    public int Count => _window.Count + MainCount;

    /// <summary>Gets whether this policy keeps write order: every write must go through <see cref="Insert"/> or
    /// <see cref="InsertReplacement"/> (an update in place would leave its key where it was).</summary>
    public bool KeepsWriteOrder => _writeOrder;

    private int MainCount => _probation.Count + _protected.Count;

    /// <summary>Gets the window's current target size (for tests).</summary>
    public int WindowTarget => Math.Clamp(_windowTarget, MinWindow, Math.Max(MinWindow, Count - (Count / 5)));

    private int Remembered => 2 * WindowTarget;

    /// <summary>Whether a window candidate with the estimated frequency <paramref name="candidate"/> takes the place
    /// of a probation victim with <paramref name="victim"/>.</summary>
    /// <remarks>It must beat the victim by more than one: keys of equal frequency (a loop over more keys than the cache
    /// holds, or one-time keys) do not displace each other, so what the cache holds stays put and keeps hitting.</remarks>
    internal static bool Admits(int candidate, int victim) => candidate > victim + 1;

    private static bool IsExpired(CacheNode<TKey, TValue> node, long? now)
        => now is { } at && node is RichCacheNode<TKey, TValue> { HasExpiry: true } rich && rich.IsExpired(at);

    /// <summary>Inserts a new key into the window (and counts the write in the sketch).</summary>
    /// <param name="node">The new entry.</param>
    /// <param name="sketch">The cache's frequency sketch.</param>
    /// <param name="residentCount">The cache's entry count.</param>
    public void Insert(CacheNode<TKey, TValue> node, FrequencySketch sketch, int residentCount)
    {
        if (_writeOrder)
        {
            node.Queue = Window;
            _window.AddFirst(node);
            return;
        }

        if (_windowGhost.Contains(node.Hash))
        {
            if (_windowTarget < Count - (Count / 5))
            {
                _windowTarget++;
            }
        }
        else if (_mainGhost.Contains(node.Hash) && _windowTarget > MinWindow)
        {
            _windowTarget--;
        }

        sketch.Add(node.Hash, 1, residentCount);
        node.Queue = Window;
        _window.AddFirst(node);

        // While the cache fills, or after the target shrank, the window's oldest entry moves on without a test.
        if (_window.Count > WindowTarget)
        {
            var tail = _window.RemoveLast();
            tail.Queue = Probation;
            _probation.AddFirst(tail);
        }
    }

    /// <summary>Inserts a replacement where the entry it replaces was (captured before that one was unlinked).</summary>
    public void InsertReplacement(CacheNode<TKey, TValue> node, byte previousQueue, byte previousFrequency)
    {
        node.Frequency = previousFrequency;
        node.Queue = previousQueue;
        QueueOf(previousQueue).AddFirst(node);
    }

    public void Remove(CacheNode<TKey, TValue> node)
    {
        QueueOf(node.Queue).Remove(node);
        node.Queue = 0;
    }

    /// <summary>Chooses, unlinks and returns the entry to evict; the caller removes it from the map.</summary>
    /// <param name="sketch">The cache's frequency sketch.</param>
    /// <param name="residentCount">The cache's entry count.</param>
    /// <param name="now">The current timestamp when entries may expire, else <see langword="null"/>: an expired
    /// entry met while choosing is evicted first, whatever its queue or counter.</param>
    /// <returns>The victim, and whether it had expired.</returns>
    /// <remarks>At most <see cref="MaxSecondChances"/> entries move per call: after that the next candidate leaves,
    /// so the work under the cache's lock is bounded even when every entry is hot.</remarks>
    public (CacheNode<TKey, TValue> Victim, bool Expired) Evict(FrequencySketch sketch, int residentCount, long? now)
    {
        if (_writeOrder)
        {
            return EvictInWriteOrder(now);
        }

        var chances = 0;
        if (_window.Count > 0 && (_window.Count >= WindowTarget || MainCount == 0))
        {
            while (_window.Tail is { } candidate)
            {
                if (IsExpired(candidate, now))
                {
                    return (Unlink(ref _window, candidate), true);
                }

                if (chances >= MaxSecondChances)
                {
                    break;
                }

                chances++;
                if (candidate.Frequency > 0)
                {
                    _window.Remove(candidate);
                    Protect(candidate, sketch, residentCount, ref chances); // read while in the window
                }
                else if (MainCount > 0)
                {
                    var victim = ProbationVictim(sketch, residentCount, now, ref chances);
                    if (IsExpired(victim, now))
                    {
                        return (Unlink(ref _probation, victim), true);
                    }

                    if (!Admits(sketch.Estimate(candidate.Hash), sketch.Estimate(victim.Hash) + victim.Frequency))
                    {
                        break;
                    }

                    _window.Remove(candidate);
                    candidate.Queue = Probation;
                    _probation.AddFirst(candidate);
                }
                else
                {
                    break;
                }

                if (_window.Count < WindowTarget && MainCount > 0)
                {
                    return EvictFromMain(sketch, residentCount, now, ref chances);
                }
            }

            if (_window.Tail is { } rejected)
            {
                _windowGhost.Add(rejected.Hash, Remembered);
                return (Unlink(ref _window, rejected), false);
            }
        }

        return EvictFromMain(sketch, residentCount, now, ref chances);
    }

    /// <summary>Adds every node (window, probation, then protected, each queue from its head) to <paramref name="sink"/>.</summary>
    public void AppendTo(List<CacheNode<TKey, TValue>> sink)
    {
        Append(_window, sink);
        Append(_probation, sink);
        Append(_protected, sink);
    }

    /// <summary>Unlinks every node and adds it to <paramref name="sink"/>; forgets what the ghosts and the window
    /// size learned.</summary>
    public void DrainTo(List<CacheNode<TKey, TValue>> sink)
    {
        AppendTo(sink);
        foreach (var node in sink)
        {
            node.Previous = null;
            node.Next = null;
            node.Queue = 0;
        }

        _window.Clear();
        _probation.Clear();
        _protected.Clear();
        _windowGhost.Clear();
        _mainGhost.Clear();
        _windowTarget = MinWindow;
    }

    private static CacheNode<TKey, TValue> Unlink(ref CacheNodeList<TKey, TValue> queue, CacheNode<TKey, TValue> node)
    {
        queue.Remove(node);
        node.Queue = 0;
        return node;
    }

    private static void Append(CacheNodeList<TKey, TValue> queue, List<CacheNode<TKey, TValue>> sink)
    {
        for (var node = queue.Head; node is not null; node = node.Next)
        {
            sink.Add(node);
        }
    }

    private ref CacheNodeList<TKey, TValue> QueueOf(byte queue)
    {
        if (queue == Window)
        {
            return ref _window;
        }

        if (queue == Probation)
        {
            return ref _probation;
        }

        return ref _protected;
    }

    /// <summary>Evicts the least recently written entry, or an expired one among the <see cref="MaxSecondChances"/>
    /// least recently written (evicting it instead keeps every live entry a little longer).</summary>
    private (CacheNode<TKey, TValue> Victim, bool Expired) EvictInWriteOrder(long? now)
    {
        var candidate = _window.Tail;
        for (var looked = 0; now is not null && candidate is not null && looked < MaxSecondChances; looked++)
        {
            if (IsExpired(candidate, now))
            {
                return (Unlink(ref _window, candidate), true);
            }

            candidate = candidate.Previous;
        }

        return (Unlink(ref _window, _window.Tail!), false);
    }

    /// <summary>Evicts the probation part's victim (the main queue's least valuable entry).</summary>
    private (CacheNode<TKey, TValue> Victim, bool Expired) EvictFromMain(FrequencySketch sketch, int residentCount, long? now, ref int chances)
    {
        var victim = ProbationVictim(sketch, residentCount, now, ref chances);
        var expired = IsExpired(victim, now);
        if (!expired)
        {
            _mainGhost.Add(victim.Hash, Remembered);
        }

        return (Unlink(ref _probation, victim), expired);
    }

    /// <summary>Runs the probation CLOCK: tail entries read since the last pass move to the protected part (within the
    /// budget of moves); returns the tail that stays, without unlinking it. The main queue must not be empty.</summary>
    private CacheNode<TKey, TValue> ProbationVictim(FrequencySketch sketch, int residentCount, long? now, ref int chances)
    {
        while (true)
        {
            if (_probation.Tail is not { } tail)
            {
                var demoted = _protected.RemoveLast(); // everything is protected: its tail is the oldest
                demoted.Queue = Probation;
                _probation.AddFirst(demoted);
                continue;
            }

            if (tail.Frequency == 0 || chances >= MaxSecondChances || IsExpired(tail, now))
            {
                return tail;
            }

            chances++;
            _probation.Remove(tail);
            Protect(tail, sketch, residentCount, ref chances);
        }
    }

    /// <summary>Puts an entry that was read at the protected part's head, then sends unread protected tails back to
    /// probation while that part holds more than half the main queue (read ones get another lap, within the budget).</summary>
    private void Protect(CacheNode<TKey, TValue> node, FrequencySketch sketch, int residentCount, ref int chances)
    {
        Fold(node, sketch, residentCount);
        node.Queue = Protected;
        _protected.AddFirst(node);
        while (_protected.Count > MainCount / 2 && _protected.Count > 1)
        {
            var tail = _protected.RemoveLast();
            if (tail.Frequency > 0 && chances < MaxSecondChances)
            {
                chances++;
                Fold(tail, sketch, residentCount);
                _protected.AddFirst(tail);
                continue;
            }

            tail.Queue = Probation;
            _probation.AddFirst(tail);
        }
    }

    /// <summary>Moves a node's pending reads (its counter, raised by lookups without synchronisation) into the sketch.</summary>
    private static void Fold(CacheNode<TKey, TValue> node, FrequencySketch sketch, int residentCount)
    {
        if (node.Frequency > 0)
        {
            sketch.Add(node.Hash, node.Frequency, residentCount);
            node.Frequency = 0;
        }
    }
}
