using System.Runtime.InteropServices;

namespace SafeRefs.Internal;

/// <summary>
/// Bounds dead entries of weak handler lists that are never raised nor added to: after each gen-2 collection it
/// queues one sweep on the thread pool that compacts every registered list.
/// </summary>
/// <remarks>
/// The gen-2 signal comes from a sentinel whose finalizer re-registers itself. The finalizer does nothing but compare a
/// collection count and queue a work item: it never touches a list, a weak table or any other object that might be
/// finalized already (see ANCHORS §7). Lists are held through weak handles, freed by the sweep once the list is gone.
/// </remarks>
internal static class WeakHandlerPurger
{
    private static readonly Lock SyncRoot = new();
    private static readonly List<WeakGCHandle<WeakHandlerList>> Lists = [];
    private static int _sweepQueued;
    private static int _lastGen2Count;
    private static long _sweepsCompleted;
    private static bool _sentinelCreated;

    /// <summary>Gets the number of sweeps finished so far (tests wait on it instead of sleeping).</summary>
    internal static long SweepsCompleted => Interlocked.Read(ref _sweepsCompleted);

    /// <summary>Gets the number of registered lists (live or awaiting the next sweep).</summary>
    internal static int RegisteredCount
    {
        get
        {
            lock (SyncRoot)
            {
                return Lists.Count;
            }
        }
    }

    /// <summary>Registers a list that holds weak entries; called once per list.</summary>
    internal static void Register(WeakHandlerList list)
    {
        lock (SyncRoot)
        {
            Lists.Add(new WeakGCHandle<WeakHandlerList>(list));
            if (!_sentinelCreated)
            {
                _sentinelCreated = true;
                _lastGen2Count = GC.CollectionCount(2);
                _ = new Sentinel();
            }
        }
    }

    /// <summary>Runs a sweep now on the calling thread (also used by tests).</summary>
    internal static void Sweep()
    {
        WeakGCHandle<WeakHandlerList>[] snapshot;
        lock (SyncRoot)
        {
            snapshot = [.. Lists];
        }

        var deadHandles = 0;
        foreach (var handle in snapshot)
        {
            if (handle.TryGetTarget(out var list))
            {
                list.Purge();
            }
            else
            {
                deadHandles++;
            }
        }

        if (deadHandles > 0)
        {
            lock (SyncRoot)
            {
                for (var i = Lists.Count - 1; i >= 0; i--)
                {
                    if (!Lists[i].TryGetTarget(out _))
                    {
                        Lists[i].Dispose();
                        Lists.RemoveAt(i);
                    }
                }
            }
        }
    }

    private static void QueueSweep()
    {
        if (Interlocked.Exchange(ref _sweepQueued, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(
                static _ =>
                {
                    Volatile.Write(ref _sweepQueued, 0);
                    try
                    {
                        Sweep();
                    }
                    finally
                    {
                        Interlocked.Increment(ref _sweepsCompleted);
                    }
                },
                null);
        }
    }

    private sealed class Sentinel
    {
        ~Sentinel()
        {
            if (Environment.HasShutdownStarted)
            {
                return;
            }

            var gen2 = GC.CollectionCount(2);
            if (gen2 != Volatile.Read(ref _lastGen2Count))
            {
                Volatile.Write(ref _lastGen2Count, gen2);
                QueueSweep();
            }

            GC.ReRegisterForFinalize(this);
        }
    }
}
