using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using SafeRefs.Caching.Internal;
using SafeRefs.Diagnostics.Internal;

namespace SafeRefs.Caching;

/// <summary>
/// A drop-in <see cref="IMemoryCache"/> that is always bounded: at most <see cref="BoundedMemoryCacheOptions.Capacity"/>
/// entries (and, optionally, a total <c>Size</c>), evicting the least valuable entry when full instead of rejecting
/// the new one.
/// </summary>
/// <remarks>
/// <para><b>Contract:</b> honours <see cref="ICacheEntry"/>: absolute, relative and sliding expiration, expiration
/// tokens, <see cref="CacheItemPriority"/>, <c>Size</c> (counted only when <see cref="BoundedMemoryCacheOptions.SizeLimit"/>
/// is set; a missing size counts as 1) and post-eviction callbacks with the matching <see cref="EvictionReason"/>.
/// An entry is committed when it is disposed, and only if its <c>Value</c> was set (a factory that threw stores
/// nothing). With <see cref="BoundedMemoryCacheOptions.TrackLinkedCacheEntries"/>, an entry created or a value read
/// while another entry is being created hands its expiration tokens and absolute expiration to that entry, as in
/// <c>MemoryCache</c>. Callbacks run on the thread pool, drained in batches by one work item at a time (not one
/// task per evicted entry).</para>
/// <para><b>Priorities and the strict bound:</b> a full cache evicts <see cref="CacheItemPriority.Low"/> entries
/// first, then <see cref="CacheItemPriority.Normal"/>, then <see cref="CacheItemPriority.High"/>.
/// <see cref="CacheItemPriority.NeverRemove"/> entries are never removed by <see cref="Compact"/> (as in
/// <c>MemoryCache</c>) and are evicted only when every resident entry is <see cref="CacheItemPriority.NeverRemove"/>
/// and a write needs room: the bound stays strict and the write is still stored, so the least valuable
/// <see cref="CacheItemPriority.NeverRemove"/> entry leaves (callbacks get <see cref="EvictionReason.Capacity"/>, and
/// warning 1405 is logged). Keep the capacity above the number of such entries.</para>
/// <para><b>Differences from <c>MemoryCache</c>:</b> a full cache evicts instead of rejecting; an entry without a size
/// never throws; <see cref="GetCurrentStatistics"/> always returns statistics; <see cref="Dispose"/> removes the
/// entries and runs their callbacks (with <see cref="EvictionReason.Removed"/>) instead of leaving them referenced;
/// <see cref="Compact"/> rejects a percentage outside 0–1 and throws after disposal.</para>
/// <para><b>Holds</b> resident values strongly, and the entry object only while it needs it (tokens, callbacks,
/// <see cref="CacheItemPriority.NeverRemove"/>, linked-entry tracking): a removed, replaced, evicted or expired entry
/// is unlinked at once and its change-token registrations are disposed. Pending post-eviction callbacks hold their
/// entry until they have run. The expiry sweep timer holds the cache weakly.</para>
/// <para><b>Thread safety:</b> all members are thread-safe; lookups are lock-free; replacing a value that has no
/// tokens, callbacks or expiration with another such value (no <see cref="BoundedMemoryCacheOptions.SizeLimit"/>)
/// locks only that entry; other writes are serialised.</para>
/// <para><b>Second <see cref="Dispose"/>:</b> does nothing. The first one stops the timer and removes every entry
/// (callbacks run with <see cref="EvictionReason.Removed"/>); later calls of other members throw
/// <see cref="ObjectDisposedException"/>, except <see cref="GetCurrentStatistics"/>, <see cref="Count"/> and
/// <see cref="Keys"/>, and committing an entry created before does nothing.</para>
/// </remarks>
public sealed class BoundedMemoryCache : IMemoryCache
{
    private const int NormalLevel = 1;
    private const int NeverRemoveLevel = 3;

    // Values are stored bare (no per-entry object kept) unless the entry needs itself after the commit: then the
    // BoundedCacheEntry is the stored value, and a stored BoundedCacheEntry always means "the entry, not a value".
    private readonly CacheEngine<object, object?> _core;
    private readonly TimeProvider _timeProvider;
    private readonly bool _trackLinkedEntries;
    private readonly long? _sizeLimit;
    private readonly ILogger? _logger;
    private readonly ConcurrentQueue<(BoundedCacheEntry Entry, EvictionReason Reason)> _callbackQueue = new();
    private int _draining;
    private bool _disposed;

    /// <summary>Initializes a new instance of the <see cref="BoundedMemoryCache"/> class.</summary>
    /// <param name="options">The settings.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> or its time provider is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The capacity is less than 1, or the size limit or scan frequency is not positive.</exception>
    public BoundedMemoryCache(BoundedMemoryCacheOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Capacity, 1, nameof(options.Capacity));
        if (options.SizeLimit is { } limit)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1, nameof(options.SizeLimit));
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ExpirationScanFrequency, TimeSpan.Zero, nameof(options.ExpirationScanFrequency));
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options.TimeProvider));
        _timeProvider = options.TimeProvider;
        _sizeLimit = options.SizeLimit;
        _logger = options.LoggerFactory?.CreateLogger<BoundedMemoryCache>();
        _trackLinkedEntries = options.TrackLinkedCacheEntries;
        _core = new CacheEngine<object, object?>(new CacheEngineSettings<object, object?>
        {
            Owner = this,
            Capacity = options.Capacity,
            MaxWeight = options.SizeLimit,
            TimeProvider = options.TimeProvider,
            ExpirationScanInterval = options.ExpirationScanFrequency,
            Logger = _logger,
            Name = options.Name,
            MeterFactory = options.MeterFactory,
            Levels = 4,
            SweepAlways = true,
            IsStale = static stored => stored is BoundedCacheEntry entry && entry.IsStale(),
            OnRemoved = OnRemoved,
            OverwriteIsReplace = true,
            RemovalIsSilent = static stored => stored is not BoundedCacheEntry,
        });
    }

    /// <summary>Gets the exact number of resident entries; never more than the capacity.</summary>
    /// <value>The entry count.</value>
    public int Count => _core.Count;

    /// <summary>Gets the sum of the resident entries' sizes when a size limit is set.</summary>
    /// <value>The total size, or <see langword="null"/> without <see cref="BoundedMemoryCacheOptions.SizeLimit"/>.</value>
    public long? CurrentSize => _sizeLimit is null ? null : _core.TotalWeight;

    /// <summary>Gets the hit, miss and eviction counters.</summary>
    /// <value>A new snapshot on each read.</value>
    public CacheStatistics Statistics => _core.Statistics;

    /// <summary>Gets the keys of the resident entries, like <c>MemoryCache.Keys</c>.</summary>
    /// <value>A snapshot taken at one instant: every key resident then appears exactly once, whatever the cache does
    /// while it is enumerated (taking it costs O(<see cref="Count"/>) under the cache's write lock). Expired entries
    /// not yet swept may appear.</value>
    public IEnumerable<object> Keys => _core.SnapshotResidentKeys();

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public ICacheEntry CreateEntry(object key)
    {
        ArgumentNullException.ThrowIfNull(key);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new BoundedCacheEntry(this, key, _trackLinkedEntries);
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public bool TryGetValue(object key, out object? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_core.TryGet(key, out var stored))
        {
            if (stored is BoundedCacheEntry entry)
            {
                if (_trackLinkedEntries && BoundedCacheEntry.Current is { } current)
                {
                    // Like MemoryCache: a value read while another entry is being created links that entry to it.
                    entry.PropagateTo(current);
                }

                stored = entry.Value;
            }

            value = stored;
            return true;
        }

        value = null;
        return false;
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public void Remove(object key)
    {
        ArgumentNullException.ThrowIfNull(key);
        ObjectDisposedException.ThrowIf(_disposed, this);
        _core.TryRemove(key, out _);
    }

    /// <summary>Removes every entry (post-eviction callbacks run with <see cref="EvictionReason.Removed"/>).</summary>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public void Clear()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _core.Clear();
    }

    /// <summary>
    /// Removes at least <paramref name="percentage"/> of the entries, like <c>MemoryCache.Compact</c>: first every
    /// expired entry, then <see cref="CacheItemPriority.Low"/>, <see cref="CacheItemPriority.Normal"/> and
    /// <see cref="CacheItemPriority.High"/> entries, least valuable first, until the target is met.
    /// </summary>
    /// <param name="percentage">The share of the current entry count to remove, from 0 (only expired entries) to 1.</param>
    /// <remarks><see cref="CacheItemPriority.NeverRemove"/> entries are never removed by a compaction (as in
    /// <c>MemoryCache</c>), so fewer entries than asked may leave. Removed entries' post-eviction callbacks run with
    /// <see cref="EvictionReason.Capacity"/> (<see cref="EvictionReason.Expired"/> for expired ones).</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="percentage"/> is not between 0 and 1.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public void Compact(double percentage)
    {
        if (!(percentage >= 0 && percentage <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(percentage), percentage, "The percentage must be between 0 and 1.");
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        _core.Compact((int)(_core.Count * percentage), levelLimit: NeverRemoveLevel);
    }

    /// <summary>Gets a snapshot of the cache statistics in the <see cref="IMemoryCache"/> shape.</summary>
    /// <returns>The statistics (never <see langword="null"/>: statistics are always tracked).</returns>
    public MemoryCacheStatistics? GetCurrentStatistics()
    {
        var statistics = _core.Statistics;
        return new MemoryCacheStatistics
        {
            CurrentEntryCount = _core.Count,
            CurrentEstimatedSize = CurrentSize,
            TotalHits = statistics.Hits,
            TotalMisses = statistics.Misses,
        };
    }

    /// <summary>Stops the sweep timer and removes every entry; see the remarks of the type.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _core.Dispose();
    }

    internal void Commit(BoundedCacheEntry entry)
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            CommitCore(entry);
        }
        catch (ObjectDisposedException) when (Volatile.Read(ref _disposed))
        {
            // The cache was disposed while this entry was being stored: like MemoryCache, disposing an entry of a
            // disposed cache stores nothing and does not throw.
        }
    }

    /// <summary>Logs and counts a change-token registration whose disposal threw (the entry left regardless).</summary>
    internal void ReportTokenRegistrationFailure(Exception exception)
        => _core.ReportCallbackFailure(exception, CacheCallback.TokenRegistration, CacheEvictionReason.Removed);

    internal long GetTimestamp() => _timeProvider.GetTimestamp();

    /// <summary>Converts a wall-clock expiration to the timestamp the cache compares (as the commit does).</summary>
    internal long ToTimestamp(DateTimeOffset at)
    {
        var remaining = at - _timeProvider.GetUtcNow();
        return _timeProvider.GetTimestamp() + (remaining <= TimeSpan.Zero ? 0 : _core.TimestampTicks(remaining));
    }

    internal void RemoveExpired(BoundedCacheEntry entry)
    {
        if (!_disposed)
        {
            _core.TryRemoveExact(entry.Key, entry, CacheEvictionReason.Expired);
        }
    }

    private void CommitCore(BoundedCacheEntry entry)
    {
        if (entry.IsPlain && (_sizeLimit is null || entry.Size is null) && !_trackLinkedEntries)
        {
            // The common Set(key, value): nothing to expire, check or call back; store the bare value.
            _core.WriteEntry(entry.Key, entry.Value, weight: 1, level: NormalLevel, long.MaxValue, sliding: 0, mayBecomeStale: false);
            return;
        }

        var absolute = long.MaxValue;
        var expiresAt = entry.AbsoluteExpiration;
        if (entry.AbsoluteExpirationRelativeToNow is { } relative)
        {
            var relativeAt = _timeProvider.GetUtcNow() + relative;
            expiresAt = expiresAt is null || relativeAt < expiresAt ? relativeAt : expiresAt;
        }

        if (expiresAt is { } at)
        {
            var remaining = at - _timeProvider.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                Reject(entry, EvictionReason.Expired);
                return;
            }

            absolute = _timeProvider.GetTimestamp() + _core.TimestampTicks(remaining);

            // Like MemoryCache, the effective absolute expiration is what a parent entry inherits.
            entry.AbsoluteExpiration = at;
        }

        if (entry.HasChangedToken())
        {
            Reject(entry, EvictionReason.TokenExpired);
            return;
        }

        var weight = 1L;
        if (_sizeLimit is { } limit)
        {
            weight = entry.Size ?? 1;
            if (weight > limit)
            {
                if (_logger is not null)
                {
                    try
                    {
                        Log.CacheEntryTooLarge(_logger, weight, limit);
                    }
#pragma warning disable CA1031 // The logger is user code: a warning must not fail the caller's Set.
                    catch (Exception)
#pragma warning restore CA1031
                    {
                    }
                }

                Reject(entry, EvictionReason.Capacity);
                return;
            }
        }

        var sliding = entry.SlidingExpiration is { } slide ? _core.TimestampTicks(slide) : 0;
        var level = entry.Priority switch
        {
            CacheItemPriority.Low => 0,
            CacheItemPriority.High => 2,
            CacheItemPriority.NeverRemove => NeverRemoveLevel,
            _ => NormalLevel,
        };

        // The entry object is kept only when something needs it after the commit: tokens (checked and detached),
        // callbacks, the priority for the NeverRemove warning, linked-entry tracking (the expiration a parent inherits
        // on a hit, and what a linked entry hands over after this one was stored), or a value that is itself an entry
        // (so a stored entry is never mistaken for a value).
        var keepEntry = entry.HasTokens || entry.HasCallbacks || level == NeverRemoveLevel || entry.Value is BoundedCacheEntry
            || _trackLinkedEntries;
        if (!keepEntry)
        {
            _core.WriteEntry(entry.Key, entry.Value, weight, level, absolute, sliding, mayBecomeStale: false);
            return;
        }

        _core.WriteEntry(entry.Key, entry, weight, level, absolute, sliding, entry.HasTokens || _trackLinkedEntries);
        entry.MarkStored(expiresAt?.UtcTicks ?? -1);
    }

    /// <summary>Gets the engine (for tests).</summary>
    internal CacheEngine<object, object?> Engine => _core;

    private static EvictionReason Map(BoundedCacheEntry entry, CacheEvictionReason reason) => reason switch
    {
        CacheEvictionReason.Capacity or CacheEvictionReason.Weight => EvictionReason.Capacity,
        CacheEvictionReason.Expired => entry.TokenExpired ? EvictionReason.TokenExpired : EvictionReason.Expired,
        CacheEvictionReason.Replaced => EvictionReason.Replaced,
        _ => EvictionReason.Removed,
    };

    private static void Drain(BoundedMemoryCache cache)
    {
        while (true)
        {
            while (cache._callbackQueue.TryDequeue(out var item))
            {
                foreach (var registration in item.Entry.Callbacks)
                {
                    try
                    {
                        registration.EvictionCallback?.Invoke(item.Entry.Key, item.Entry.Value, item.Reason, registration.State);
                    }
                    catch (Exception ex)
                    {
                        // Like MemoryCache, a failing callback must not take the process down; it is logged.
                        cache._core.ReportCallbackFailure(ex, CacheCallback.PostEviction, item.Reason.ToString());
                    }
                }
            }

            Volatile.Write(ref cache._draining, 0);
            if (cache._callbackQueue.IsEmpty || Interlocked.CompareExchange(ref cache._draining, 1, 0) != 0)
            {
                return;
            }
        }
    }

    private void Reject(BoundedCacheEntry entry, EvictionReason reason)
    {
        // Like MemoryCache: the new entry is not stored, and the key no longer maps to the older value, which is
        // reported as replaced.
        _core.TryRemove(entry.Key, CacheEvictionReason.Replaced);
        entry.MarkRemoved();
        Enqueue(entry, reason);
    }

    private void OnRemoved(object key, object? stored, CacheEvictionReason reason)
    {
        if (stored is not BoundedCacheEntry entry)
        {
            return; // a bare value: no tokens, no callbacks, nothing to do
        }

        entry.MarkRemoved();
        if (entry.Priority == CacheItemPriority.NeverRemove && reason is CacheEvictionReason.Capacity or CacheEvictionReason.Weight
            && _logger is not null)
        {
            try
            {
                Log.CacheNeverRemoveEntryEvicted(_logger);
            }
#pragma warning disable CA1031 // The logger is user code: a warning must not fail the eviction or its caller.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        Enqueue(entry, Map(entry, reason));
    }

    private void Enqueue(BoundedCacheEntry entry, EvictionReason reason)
    {
        if (!entry.HasCallbacks)
        {
            return;
        }

        _callbackQueue.Enqueue((entry, reason));
        if (Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static cache => Drain(cache), this, preferLocal: false);
        }
    }
}
