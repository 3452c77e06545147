using System.Buffers;

namespace SafeRefs.Internal;

/// <summary>
/// Every live weak-event forwarder, so that those whose owner (or source) was collected are detached without the
/// event having to fire. Purges run on the subscribing thread (when the number of subscribes since the last purge
/// reaches half the live count, at least 256) and on the thread pool after gen-2 collections.
/// </summary>
/// <remarks>
/// Holds forwarders strongly; a forwarder holds its owner and source weakly. Nothing here runs in a finalizer except
/// <see cref="Gen2Sentinel"/>, which only queues a purge. User code (remove accessors) runs outside the lock.
/// </remarks>
internal static class WeakEventLinkRegistry
{
    private const int MinPurgeInterval = 256;

    private static readonly Lock Gate = new();
    private static WeakEventLink?[] _items = new WeakEventLink?[16];
    private static int _count;
    private static int _addsSinceLastPurge;
    private static int _purgeQueued;
    private static int _sentinelStarted;
    private static long _purges;

    /// <summary>Raised after each purge (tests wait on it instead of sleeping).</summary>
    internal static event Action? Purged;

    internal static int Count
    {
        get
        {
            lock (Gate)
            {
                return _count;
            }
        }
    }

    internal static long PurgeCount => Interlocked.Read(ref _purges);

    public static void Add(WeakEventLink forwarder)
    {
        bool purgeNow;
        lock (Gate)
        {
            if (_count == _items.Length)
            {
                Array.Resize(ref _items, _items.Length * 2);
            }

            forwarder.RegistryIndex = _count;
            _items[_count++] = forwarder;
            purgeNow = ++_addsSinceLastPurge >= Math.Max(MinPurgeInterval, _count / 2);
        }

        if (Volatile.Read(ref _sentinelStarted) == 0 && Interlocked.Exchange(ref _sentinelStarted, 1) == 0)
        {
            Gen2Sentinel.Start();
        }

        if (purgeNow)
        {
            Purge();
        }
    }

    public static void Remove(WeakEventLink forwarder)
    {
        lock (Gate)
        {
            var index = forwarder.RegistryIndex;
            if (index < 0)
            {
                return;
            }

            var last = _items[--_count]!;
            _items[index] = last;
            last.RegistryIndex = index;
            _items[_count] = null;
            forwarder.RegistryIndex = -1;
            if (_count == 0 && _items.Length > 1024)
            {
                _items = new WeakEventLink?[16];
            }
        }
    }

    /// <summary>Detaches every forwarder whose owner or source has been collected.</summary>
    /// <returns>How many were detached.</returns>
    public static int Purge()
    {
        WeakEventLink?[] snapshot;
        int count;
        lock (Gate)
        {
            _addsSinceLastPurge = 0;
            count = _count;
            snapshot = ArrayPool<WeakEventLink?>.Shared.Rent(Math.Max(count, 1));
            Array.Copy(_items, snapshot, count);
        }

        var detached = 0;
        try
        {
            for (var i = 0; i < count; i++)
            {
                if (snapshot[i]!.PurgeIfDead())
                {
                    detached++;
                }
            }
        }
        finally
        {
            Array.Clear(snapshot, 0, count);
            ArrayPool<WeakEventLink?>.Shared.Return(snapshot);
            Interlocked.Increment(ref _purges);
        }

        Purged?.Invoke();
        return detached;
    }

    /// <summary>Queues one purge on the thread pool unless one is already queued.</summary>
    internal static void QueuePurge()
    {
        if (Interlocked.Exchange(ref _purgeQueued, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(
                static _ =>
                {
                    Volatile.Write(ref _purgeQueued, 0);
                    Purge();
                },
                null);
        }
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

            if (Volatile.Read(ref _count) > 0)
            {
                QueuePurge();
            }

            GC.ReRegisterForFinalize(this);
        }

        public static void Start() => _ = new Gen2Sentinel();
    }
}
