namespace SafeRefs.Internal;

/// <summary>
/// Every weak event link (<c>Subscribe.WeakEvent</c> and <c>WeakSubscriptions</c>), so that links whose owner (or
/// source) was collected are detached without the event having to fire. Purges run on the subscribing thread (when
/// the subscribes since the last purge reach half the slots, at least 256; for links that ask for it, also after a
/// gen-2 collection) and on the thread pool after gen-2 collections.
/// </summary>
/// <remarks>
/// <para>The registry is a growing array of reusable <see cref="LinkSlot"/>s with a lock-free free list (a
/// version-tagged index stack) and, per thread, a cache of one free slot: a slot returned on a thread whose cache is
/// empty stays there for that thread's next claim (no interlocked operation); otherwise claiming and returning a slot
/// is one compare-and-swap each. A dead thread's cached slot goes back to the free list at the next purge or cache
/// registration. A slot's two weak GC handles are allocated once and retargeted by each link that uses it. A slot holds its link strongly until the link
/// is detached; the link holds its owner and source only through the slot's weak handles.</para>
/// <para>Nothing here runs in a finalizer except <see cref="Gen2Sentinel"/>, which only queues a purge. User code
/// (remove accessors) runs outside every lock.</para>
/// </remarks>
internal static class WeakEventLinkRegistry
{
    private const int MinPurgeInterval = 256;
    private const long IndexMask = 0xFFFF_FFFF;

    private static readonly Lock Gate = new();

    // Under Gate: the slot caches of the threads that returned a slot, so that a dead thread's cached slot goes back
    // to the free list.
    private static readonly List<SlotCache> Caches = [];
    private static LinkSlot[] _slots = new LinkSlot[16];
    private static int _slotCount;

    // High 32 bits: version (bumped by every push and pop, so a stale pop's compare-and-swap fails); low 32 bits:
    // index + 1 of the first free slot, 0 when the free list is empty.
    private static long _freeHead;
    private static int _subscribesSinceLastPurge;
    private static int _lastCallerGen2Count;
    private static int _purgeQueued;
    private static bool _sentinelStarted;

    // Subscribes between two caller-thread purges: half the slots, at least MinPurgeInterval (updated as slots are created).
    private static int _purgeInterval = MinPurgeInterval;
    private static long _purges;

    // The calling thread's cache of one free slot: a subscribe and dispose on one thread reuse a slot without any
    // interlocked operation on the shared free list.
    [ThreadStatic]
    private static SlotCache? _cache;

    /// <summary>Raised after each purge (tests wait on it instead of sleeping).</summary>
    internal static event Action? Purged;

    /// <summary>Gets the number of registered links (O(slots); for tests and diagnostics).</summary>
    internal static int Count
    {
        get
        {
            var count = 0;
            foreach (var slot in Slots())
            {
                if (slot.Link is not null)
                {
                    count++;
                }
            }

            return count;
        }
    }

    /// <summary>Gets the number of slots created so far (the high-water mark of simultaneous links).</summary>
    internal static int SlotCount => Volatile.Read(ref _slotCount);

    internal static long PurgeCount => Interlocked.Read(ref _purges);

    /// <summary>Claims a free slot (or creates one) and points its handles at <paramref name="owner"/> and <paramref name="source"/>.</summary>
    internal static LinkSlot Claim(object owner, object source)
    {
        var slot = TakeCached() ?? Pop() ?? Create();
        slot.Retarget(owner, source);
        return slot;
    }

    /// <summary>
    /// Registers an attached link in its slot, then purges on the calling thread if enough subscribes happened since
    /// the last purge (or, with <paramref name="purgeAfterGen2"/>, if a gen-2 collection happened since).
    /// </summary>
    internal static void Register(WeakEventLink link, bool purgeAfterGen2)
    {
        link.Slot.Register(link);

        // A racy increment is fine: a lost count only delays the next caller-thread purge by one subscribe.
        var due = ++_subscribesSinceLastPurge >= _purgeInterval;
        if (!due && purgeAfterGen2)
        {
            var gen2 = GC.CollectionCount(2);
            if (gen2 != Volatile.Read(ref _lastCallerGen2Count))
            {
                Volatile.Write(ref _lastCallerGen2Count, gen2);
                due = true;
            }
        }

        if (due)
        {
            _ = Purge();
        }
    }

    /// <summary>Returns a slot whose link is detached (off the source and off the registry); its readers may still be inside.</summary>
    internal static void Return(LinkSlot slot)
    {
        slot.NextGeneration();
        var cache = _cache ?? RegisterCache();
        if (cache.SlotIndex < 0)
        {
            // An index, not a reference: no write barrier.
            Volatile.Write(ref cache.SlotIndex, slot.Index);
            return;
        }

        Push(slot);
    }

    private static void Push(LinkSlot slot)
    {
        var spinner = default(SpinWait);
        while (true)
        {
            var head = Volatile.Read(ref _freeHead);
            slot.NextFree = (int)(head & IndexMask) - 1;
            var next = (((head >>> 32) + 1) << 32) | (uint)(slot.Index + 1);
            if (Interlocked.CompareExchange(ref _freeHead, next, head) == head)
            {
                return;
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>Detaches every link whose owner or source has been collected, on the calling thread.</summary>
    /// <returns>How many were detached.</returns>
    public static int Purge() => Purge(background: false);

    /// <summary>
    /// Walks the free list and the threads' slot caches (tests, while no link is being claimed or returned): how many
    /// slots they hold, and whether every one of them appears once and is unregistered.
    /// </summary>
    internal static (int Free, bool Consistent) InspectFreeList()
    {
        var slots = Slots();
        var seen = new bool[slots.Length];
        var free = 0;
        lock (Gate)
        {
            foreach (var cache in Caches)
            {
                var cachedIndex = Volatile.Read(ref cache.SlotIndex);
                if (cachedIndex < 0)
                {
                    continue;
                }

                var cached = slots[cachedIndex];
                if (seen[cached.Index] || cached.Link is not null)
                {
                    return (free, false);
                }

                seen[cached.Index] = true;
                free++;
            }
        }

        var index = (int)(Volatile.Read(ref _freeHead) & IndexMask) - 1;
        while (index >= 0)
        {
            if (index >= slots.Length || seen[index] || slots[index].Link is not null)
            {
                return (free, false);
            }

            seen[index] = true;
            free++;
            index = slots[index].NextFree;
        }

        return (free, true);
    }

    /// <summary>Gets the slot in the calling thread's cache, if any (tests).</summary>
    internal static LinkSlot? CachedSlotOfThisThread => _cache is { SlotIndex: >= 0 and var index } ? Slots()[index] : null;

    /// <summary>Gets a value indicating whether <paramref name="slot"/> is on the shared free list (tests, while no link is being claimed or returned).</summary>
    internal static bool IsOnFreeList(LinkSlot slot)
    {
        var slots = Slots();
        var index = (int)(Volatile.Read(ref _freeHead) & IndexMask) - 1;
        for (var steps = 0; index >= 0 && steps <= slots.Length; steps++)
        {
            if (index == slot.Index)
            {
                return true;
            }

            index = slots[index].NextFree;
        }

        return false;
    }

    /// <summary>Purges as the thread-pool purge after a gen-2 collection does (tests call it directly).</summary>
    internal static int PurgeInBackgroundMode() => Purge(background: true);

    /// <summary>Queues one purge on the thread pool unless one is already queued.</summary>
    internal static void QueuePurge()
    {
        if (Interlocked.Exchange(ref _purgeQueued, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(
                static _ =>
                {
                    Volatile.Write(ref _purgeQueued, 0);
                    _ = Purge(background: true);
                },
                null);
        }
    }

    private static int Purge(bool background)
    {
        _subscribesSinceLastPurge = 0;
        lock (Gate)
        {
            ReclaimDeadThreadsSlots();
        }

        var detached = 0;
        try
        {
            foreach (var slot in Slots())
            {
                if (slot.Link is { } link && (!background || link.AllowsBackgroundPurge) && link.PurgeIfDead())
                {
                    detached++;
                }
            }
        }
        finally
        {
            Interlocked.Increment(ref _purges);
        }

        Purged?.Invoke();
        return detached;
    }

    /// <summary>The created slots (free or claimed); slots never move, the array only grows.</summary>
    private static ReadOnlySpan<LinkSlot> Slots()
    {
        // The count is published after the array that holds that many slots: read it first.
        var count = Volatile.Read(ref _slotCount);
        var slots = Volatile.Read(ref _slots);
        return slots.AsSpan(0, Math.Min(count, slots.Length));
    }

    private static LinkSlot? TakeCached()
    {
        var cache = _cache;
        if (cache is null || cache.SlotIndex < 0)
        {
            return null;
        }

        // Only this (live) thread writes its cache; a cached slot was created (and its array published) before it was
        // first returned.
        var index = cache.SlotIndex;
        Volatile.Write(ref cache.SlotIndex, -1);
        return Volatile.Read(ref _slots)[index];
    }

    private static SlotCache RegisterCache()
    {
        var cache = new SlotCache(Thread.CurrentThread);
        lock (Gate)
        {
            ReclaimDeadThreadsSlots();
            Caches.Add(cache);
        }

        _cache = cache;
        return cache;
    }

    // Under Gate: a dead thread never touches its cache again; its slot goes back to the free list.
    private static void ReclaimDeadThreadsSlots()
    {
        Caches.RemoveAll(static cache =>
        {
            if (cache.Thread.TryGetTarget(out var thread) && thread.IsAlive)
            {
                return false;
            }

            if (Volatile.Read(ref cache.SlotIndex) is >= 0 and var index)
            {
                cache.SlotIndex = -1;
                Push(_slots[index]);
            }

            return true;
        });
    }

    private static LinkSlot? Pop()
    {
        var spinner = default(SpinWait);
        while (true)
        {
            var head = Volatile.Read(ref _freeHead);
            var index = (int)(head & IndexMask) - 1;
            if (index < 0)
            {
                return null;
            }

            // The slot was created, and the array holding it published, before its index was first pushed.
            var slot = Volatile.Read(ref _slots)[index];
            var next = (((head >>> 32) + 1) << 32) | (uint)(slot.NextFree + 1);
            if (Interlocked.CompareExchange(ref _freeHead, next, head) == head)
            {
                return slot;
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    private static LinkSlot Create()
    {
        lock (Gate)
        {
            var index = _slotCount;
            if (index == _slots.Length)
            {
                var grown = new LinkSlot[index * 2];
                Array.Copy(_slots, grown, index);
                Volatile.Write(ref _slots, grown);
            }

            var slot = new LinkSlot(index);
            _slots[index] = slot;
            Volatile.Write(ref _slotCount, index + 1);
            _purgeInterval = Math.Max(MinPurgeInterval, (index + 1) / 2);
            if (!_sentinelStarted)
            {
                // Every link claims a slot, so the first one created starts the gen-2 purges.
                _sentinelStarted = true;
                Gen2Sentinel.Start();
            }

            return slot;
        }
    }

    /// <summary>One thread's cache of one free slot; only that thread writes it while it lives.</summary>
    private sealed class SlotCache(Thread thread)
    {
#pragma warning disable IDE1006 // field of a private cache, used by ref
        public int SlotIndex = -1;
#pragma warning restore IDE1006

        public WeakReference<Thread> Thread { get; } = new(thread);
    }

    /// <summary>
    /// A finalizable object that re-registers itself: once promoted, its finalizer runs after each gen-2 collection.
    /// It touches nothing but the thread pool queue.
    /// </summary>
    private sealed class Gen2Sentinel
    {
        private Gen2Sentinel()
        {
        }

        ~Gen2Sentinel()
        {
            if (Environment.HasShutdownStarted)
            {
                return;
            }

            QueuePurge();
            GC.ReRegisterForFinalize(this);
        }

        public static void Start() => _ = new Gen2Sentinel();
    }
}
