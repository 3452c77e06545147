using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using SafeRefs.Diagnostics.Internal;

namespace SafeRefs.Caching.Internal;

/// <summary>Everything a <see cref="CacheEngine{TKey, TValue}"/> is built from: the public options of either cache
/// plus what only <see cref="BoundedMemoryCache"/> needs (priority levels, staleness, a removal hook).</summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
/// <remarks>A plain settings bag; the engine copies what it needs when it is created.</remarks>
internal sealed class CacheEngineSettings<TKey, TValue>
    where TKey : notnull
{
    /// <summary>Gets the object the engine works for: the sender of its events and the object named by
    /// <see cref="ObjectDisposedException"/>.</summary>
    public required object Owner { get; init; }

    public int Capacity { get; init; }

    public long? MaxWeight { get; init; }

    public Func<TKey, TValue, long>? Weigher { get; init; }

    public TimeSpan? ExpireAfterWrite { get; init; }

    public TimeSpan? ExpireAfterAccess { get; init; }

    public TimeSpan? ExpirationScanInterval { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public bool DisposeEvictedValues { get; init; }

    public IEqualityComparer<TKey>? Comparer { get; init; }

    public ILogger? Logger { get; init; }

    public string? Name { get; init; }

    public IMeterFactory? MeterFactory { get; init; }

    /// <summary>Gets the number of priority levels (evicted lowest first); 1 for a plain cache.</summary>
    public int Levels { get; init; } = 1;

    /// <summary>Gets a value indicating whether the sweep timer runs even without an expiry setting (entries may
    /// carry their own expiration or become stale).</summary>
    public bool SweepAlways { get; init; }

    /// <summary>Gets a check that says a stored value is no longer valid (its change token fired), or null.</summary>
    public Func<TValue, bool>? IsStale { get; init; }

    /// <summary>Gets a hook called for every entry that leaves (before the events), or null.</summary>
    public Action<TKey, TValue, CacheEvictionReason>? OnRemoved { get; init; }

    /// <summary>Gets a value indicating whether overwriting an entry that had expired (but was not removed yet) reports
    /// it as <see cref="CacheEvictionReason.Replaced"/> (as <c>MemoryCache</c> does) rather than as expired.</summary>
    public bool OverwriteIsReplace { get; init; }

    /// <summary>Gets a check that says a value's removal is unobservable (no hook or event needs it), or null.</summary>
    public Func<TValue, bool>? RemovalIsSilent { get; init; }

    /// <summary>Gets the most buckets the key index allocates up front (tests lower it to exercise its growth).</summary>
    public int MaxInitialBuckets { get; init; } = CacheTable<TKey, TValue>.MaxInitialBuckets;

    /// <summary>Creates the settings of a <see cref="BoundedLruCache{TKey, TValue}"/>.</summary>
    public static CacheEngineSettings<TKey, TValue> From(BoundedLruCacheOptions<TKey, TValue> options, object owner, int maxInitialBuckets = CacheTable<TKey, TValue>.MaxInitialBuckets)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new()
        {
            Owner = owner,
            Capacity = options.Capacity,
            MaxWeight = options.MaxWeight,
            Weigher = options.Weigher,
            ExpireAfterWrite = options.ExpireAfterWrite,
            ExpireAfterAccess = options.ExpireAfterAccess,
            ExpirationScanInterval = options.ExpirationScanInterval,
            TimeProvider = options.TimeProvider,
            DisposeEvictedValues = options.DisposeEvictedValues,
            Comparer = options.Comparer,
            Logger = options.Logger,
            Name = options.Name,
            MeterFactory = options.MeterFactory,
            MaxInitialBuckets = maxInitialBuckets,
        };
    }
}
