using System.Collections.Concurrent;

namespace SafeRefs.Caching.Redis.Internal;

/// <summary>
/// Closes the race where a distributed-cache read that was already waiting on Redis returns the old value after
/// another instance's invalidation of that key was applied here: the caller would store the old value in its L1
/// after the removal. Reads register per key; an invalidation applied while a read of its key (or any read, for a
/// tag or clear) is in flight marks that read, and the wrapper reads again.
/// </summary>
/// <remarks>Only reads in flight are tracked (an entry lives from the start to the end of a read), so the table
/// stays as small as the number of concurrent reads.</remarks>
internal sealed class ReadTracker
{
    private readonly ConcurrentDictionary<string, Watch> _reads = new(StringComparer.Ordinal);
    private long _allGeneration;

    /// <summary>Gets the number of keys with reads in flight (tests).</summary>
    internal int Count => _reads.Count;

    /// <summary>Registers a read of <paramref name="key"/>; pass the result to <see cref="End"/>.</summary>
    internal Read Begin(string key)
    {
        while (true)
        {
            var watch = _reads.GetOrAdd(key, static _ => new Watch());
            lock (watch)
            {
                if (watch.Readers >= 0)
                {
                    watch.Readers++;
                    return new Read(key, watch, watch.Generation, Volatile.Read(ref _allGeneration));
                }
            }

            // That watch was just retired by its last reader: take a fresh one.
        }
    }

    /// <summary>Ends a read; returns <see langword="true"/> when an invalidation that concerns it was applied meanwhile.</summary>
    internal bool End(Read read)
    {
        var watch = read.Watch;
        bool invalidated;
        lock (watch)
        {
            invalidated = watch.Generation != read.Generation;
            if (--watch.Readers == 0)
            {
                watch.Readers = -1; // retired: a concurrent Begin that found it takes a new one
                _reads.TryRemove(new KeyValuePair<string, Watch>(read.Key, watch));
            }
        }

        return invalidated || Volatile.Read(ref _allGeneration) != read.AllGeneration;
    }

    /// <summary>Marks the reads of <paramref name="key"/> in flight as stale; call before removing the key from L1.</summary>
    internal void Invalidate(string key)
    {
        if (_reads.TryGetValue(key, out var watch))
        {
            lock (watch)
            {
                watch.Generation++;
            }
        }
    }

    /// <summary>Marks every read in flight as stale (tag invalidation, clear).</summary>
    internal void InvalidateAll() => Interlocked.Increment(ref _allGeneration);

    internal readonly record struct Read(string Key, Watch Watch, long Generation, long AllGeneration);

    internal sealed class Watch
    {
        // Guarded by lock (this): readers of the key in flight (-1 once retired), invalidations seen.
        internal int Readers { get; set; }

        internal long Generation { get; set; }
    }
}
