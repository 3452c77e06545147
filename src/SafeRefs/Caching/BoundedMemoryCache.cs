using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using SafeRefs.Internal;

namespace SafeRefs.Caching;

/// <summary>
/// A drop-in <see cref="IMemoryCache"/> that is always bounded: at most <see cref="BoundedMemoryCacheOptions.Capacity"/>
/// entries (and, optionally, a total <c>Size</c>), evicting the least valuable entry when full instead of rejecting
/// the new one.
/// </summary>
/// <remarks>
/// <para><b>Contract:</b> honours <see cref="ICacheEntry"/>: absolute, relative and sliding expiration, expiration
/// tokens, <see cref="CacheItemPriority"/> (lower priorities are evicted first; <see cref="CacheItemPriority.NeverRemove"/>
/// entries are evicted only when nothing else is left, because the bound is strict), <c>Size</c> (counted only when
/// <see cref="BoundedMemoryCacheOptions.SizeLimit"/> is set; a missing size counts as 1) and post-eviction callbacks
/// with the matching <see cref="EvictionReason"/>. Callbacks run on the thread pool, drained in batches by one
/// work item at a time (not one task per evicted entry). Differences from <c>MemoryCache</c>: entries created
/// inside another entry's factory do not inherit its tokens or expiration, and there is no <c>Compact</c>.</para>
/// <para><b>Holds</b> resident entries strongly and nothing else: a removed, replaced, evicted or expired entry is
/// unlinked at once and its change-token registrations are disposed. Pending post-eviction callbacks hold their
/// entry until they have run. The expiry sweep timer holds the cache weakly.</para>
/// <para><b>Thread safety:</b> all members are thread-safe; lookups are lock-free, writes are serialised.</para>
/// <para><b>Second <see cref="Dispose"/>:</b> does nothing. The first one stops the timer and removes every entry
/// (callbacks run with <see cref="EvictionReason.Removed"/>); later calls throw <see cref="ObjectDisposedException"/>.</para>
/// </remarks>
public sealed class BoundedMemoryCache : IMemoryCache
{
    private readonly BoundedLruCache<object, BoundedCacheEntry> _core;
    private readonly TimeProvider _timeProvider;
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
        var coreOptions = new BoundedLruCacheOptions<object, BoundedCacheEntry>
        {
            Capacity = options.Capacity,
            MaxWeight = options.SizeLimit,
            TimeProvider = options.TimeProvider,
            ExpirationScanInterval = options.ExpirationScanFrequency,
            Logger = _logger,
            Name = options.Name,
            MeterFactory = options.MeterFactory,
        };
        _core = new BoundedLruCache<object, BoundedCacheEntry>(
            coreOptions,
            levels: 4,
            sweepAlways: true,
            isStale: static entry => entry.HasChangedToken(),
            onRemoved: OnRemoved);
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

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public ICacheEntry CreateEntry(object key)
    {
        ArgumentNullException.ThrowIfNull(key);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new BoundedCacheEntry(this, key);
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public bool TryGetValue(object key, out object? value)
    {
        if (_core.TryGet(key, out var entry))
        {
            value = entry.Value;
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
        _core.TryRemove(key, out _);
    }

    /// <summary>Removes every entry (post-eviction callbacks run with <see cref="EvictionReason.Removed"/>).</summary>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public void Clear() => _core.Clear();

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
                    Log.CacheEntryTooLarge(_logger, weight, limit);
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
            CacheItemPriority.NeverRemove => 3,
            _ => 1,
        };
        _core.WriteEntry(entry.Key, entry, weight, level, absolute, sliding, entry.HasTokens);
        entry.RegisterTokens();
    }

    internal void RemoveExpired(BoundedCacheEntry entry)
    {
        if (!_disposed)
        {
            _core.TryRemoveExact(entry.Key, entry, CacheEvictionReason.Expired);
        }
    }

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
                        if (cache._logger is not null)
                        {
                            Log.CachePostEvictionCallbackFailed(cache._logger, ex, item.Reason.ToString());
                        }
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
        // Like MemoryCache: the new entry is not stored, and the key no longer maps to an older value.
        _core.TryRemove(entry.Key, out _);
        entry.MarkRemoved();
        Enqueue(entry, reason);
    }

    private void OnRemoved(object key, BoundedCacheEntry entry, CacheEvictionReason reason)
    {
        entry.MarkRemoved();
        var mapped = reason switch
        {
            CacheEvictionReason.Capacity or CacheEvictionReason.Weight => EvictionReason.Capacity,
            CacheEvictionReason.Expired => entry.TokenExpired ? EvictionReason.TokenExpired : EvictionReason.Expired,
            CacheEvictionReason.Replaced => EvictionReason.Replaced,
            _ => EvictionReason.Removed,
        };
        Enqueue(entry, mapped);
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
