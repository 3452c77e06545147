using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;
using SafeRefs.Diagnostics.Internal;

namespace SafeRefs.Caching.Internal;

/// <summary>
/// The engine behind <see cref="BoundedLruCache{TKey, TValue}"/> and <see cref="BoundedMemoryCache"/>: a strictly
/// bounded map with lock-free lookups (its own index, <see cref="CacheTable{TKey, TValue}"/>), writes serialised under
/// one lock, a frequency-admitting policy per priority level (<see cref="CachePolicy{TKey, TValue}"/>), expiry, weights, and
/// observers that never fail a caller. Built from one <see cref="CacheEngineSettings{TKey, TValue}"/>; the public caches
/// hold it and state its contract.
/// </summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
internal sealed partial class CacheEngine<TKey, TValue> : IExpirySweepable, IDisposable
    where TKey : notnull
{
    private const byte WriteMode = 0;
    private const byte AddIfAbsentMode = 1;
    private const byte UpdateMode = 2;

    // Values whose writes are single atomic stores can be overwritten in place while readers read them.
    private static readonly bool AtomicValueWrites = !typeof(TValue).IsValueType
        || ((typeof(TValue).IsPrimitive || typeof(TValue).IsEnum) && Unsafe.SizeOf<TValue>() <= IntPtr.Size);

    private CacheTable<TKey, TValue> _table;
    private readonly Lock _writeLock = new();
    private readonly CachePolicy<TKey, TValue>[] _levels;
    private readonly FrequencySketch _sketch = new();
    private readonly IEqualityComparer<TKey> _comparer;
    private readonly LookupCounters _lookups = new();
    private readonly int _capacity;
    private readonly long _maxWeight;
    private readonly Func<TKey, TValue, long>? _weigher;
    private readonly bool _weighted;
    private readonly bool _expires;
    private readonly bool _mayExpire;
    private readonly long _expireAfterWrite;
    private readonly long _expireAfterAccess;
    private readonly TimeProvider _timeProvider;
    private readonly bool _disposeValues;
    private readonly ILogger? _logger;
    private readonly object _owner;
    private readonly Func<TValue, bool>? _isStale;
    private readonly Action<TKey, TValue, CacheEvictionReason>? _onRemoved;
    private readonly Func<TValue, bool>? _removalIsSilent;
    private readonly bool _overwriteIsReplace;
    private readonly ExpirySweeper? _sweeper;
    private readonly Metrics.CacheMetrics _metrics;
    private ConcurrentDictionary<TKey, PendingValue<TValue>>? _inflight;
    private CacheWriteCounters _counters;
    private bool _disposed;

    public CacheEngine(CacheEngineSettings<TKey, TValue> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Capacity, 1, nameof(settings.Capacity));
        ArgumentNullException.ThrowIfNull(settings.TimeProvider, nameof(settings.TimeProvider));
        if (settings.MaxWeight is { } maxWeight)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(maxWeight, 1, nameof(settings.MaxWeight));
        }

        ValidatePositive(settings.ExpireAfterWrite, nameof(settings.ExpireAfterWrite));
        ValidatePositive(settings.ExpireAfterAccess, nameof(settings.ExpireAfterAccess));
        ValidatePositive(settings.ExpirationScanInterval, nameof(settings.ExpirationScanInterval));

        _capacity = settings.Capacity;
        _comparer = settings.Comparer ?? EqualityComparer<TKey>.Default;
        _table = new CacheTable<TKey, TValue>(_capacity, settings.Comparer, settings.MaxInitialBuckets);
        _levels = new CachePolicy<TKey, TValue>[settings.Levels];
        for (var i = 0; i < settings.Levels; i++)
        {
            _levels[i] = new CachePolicy<TKey, TValue>(_capacity);
        }

        _maxWeight = settings.MaxWeight ?? long.MaxValue;
        _weigher = settings.MaxWeight is null ? null : settings.Weigher;
        _timeProvider = settings.TimeProvider;
        _expireAfterWrite = ToTimestampTicks(settings.ExpireAfterWrite);
        _expireAfterAccess = ToTimestampTicks(settings.ExpireAfterAccess);
        _disposeValues = settings.DisposeEvictedValues;
        _owner = settings.Owner;
        _logger = settings.Logger;
        _isStale = settings.IsStale;
        _onRemoved = settings.OnRemoved;
        _removalIsSilent = typeof(TValue).IsValueType ? null : settings.RemovalIsSilent;
        _overwriteIsReplace = settings.OverwriteIsReplace;
        var expires = _expireAfterWrite != 0 || _expireAfterAccess != 0;
        _metrics = Metrics.For(settings.MeterFactory).Cache.Track(this, settings.Name);
        _weighted = settings.MaxWeight is not null;
        _expires = expires;
        _mayExpire = expires || settings.SweepAlways;
        if (expires || settings.SweepAlways)
        {
            var shortest = Min(settings.ExpireAfterWrite, settings.ExpireAfterAccess) ?? TimeSpan.FromMinutes(1);
            var period = settings.ExpirationScanInterval
                ?? TimeSpan.FromTicks(Math.Clamp(shortest.Ticks, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute));
            _sweeper = new ExpirySweeper(this, _timeProvider, period);
        }
    }

    /// <summary>Raised after an entry left the cache, on the thread whose call removed it, outside the cache's lock.</summary>
    /// <remarks>A handler that throws never fails the call that removed the entry (a lookup, a write, a
    /// <c>GetOrAdd</c> or its joiners) and does not stop other handlers or value disposal: the exception is logged
    /// through <see cref="BoundedLruCacheOptions{TKey, TValue}.Logger"/> (event id 1400) and counted by the
    /// <c>saferefs.cache.callback.failures</c> metric.</remarks>
    public event EventHandler<CacheEvictedEventArgs<TKey, TValue>>? Evicted;

    /// <summary>Raised after a write replaced the value of a live entry (<see cref="Set"/>,
    /// <see cref="TryUpdate"/>), with the old and the new value, on the writing thread, outside the cache's lock.</summary>
    /// <remarks>The old value is also reported by <see cref="Evicted"/> with <see cref="CacheEvictionReason.Replaced"/>;
    /// this event is raised after those handlers and before the old value is disposed (with
    /// <see cref="BoundedLruCacheOptions{TKey, TValue}.DisposeEvictedValues"/>). Writing over an expired entry is not
    /// an update (the old entry is reported as <see cref="CacheEvictionReason.Expired"/>). A handler that throws never
    /// fails the write and does not stop other handlers: the exception is logged through
    /// <see cref="BoundedLruCacheOptions{TKey, TValue}.Logger"/> (event id 1407) and counted by the
    /// <c>saferefs.cache.callback.failures</c> metric (tag <c>callback</c> = <c>updated</c>).</remarks>
    public event EventHandler<CacheUpdatedEventArgs<TKey, TValue>>? Updated;

    /// <summary>Gets the maximum number of entries.</summary>
    /// <value>The capacity given at construction.</value>
    public int Capacity => _capacity;

    /// <summary>Gets the comparer that decides whether two keys are equal.</summary>
    /// <value>The comparer given in the options, or <see cref="EqualityComparer{T}.Default"/>.</value>
    public IEqualityComparer<TKey> Comparer => _comparer;

    /// <summary>Gets a snapshot of the keys of the live entries.</summary>
    /// <value>A new collection on each read, taken at one instant (under the cache's write lock, so it costs
    /// O(<see cref="Count"/>) and delays concurrent writes while it copies); later writes do not change it. Entries
    /// that have expired but were not removed yet are left out. The order is unspecified.</value>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public TKey[] SnapshotKeys() => Snapshot(static node => node.Key);

    /// <summary>Gets the exact number of resident entries (O(1)); never more than <see cref="Capacity"/>.</summary>
    /// <value>The entry count.</value>
    public int Count => Volatile.Read(ref _counters.Count);

    /// <summary>Gets the total weight of the resident entries (the entry count when no weight bound is set).</summary>
    /// <value>The total weight.</value>
    public long TotalWeight => _weighted ? Volatile.Read(ref _counters.Weight) : Count;

    /// <summary>Gets a snapshot of the hit, miss and eviction counters.</summary>
    /// <value>A new snapshot on each read.</value>
    public CacheStatistics Statistics
    {
        get
        {
            var (hits, misses) = _lookups.Read();
            return new(hits, misses, _counters.Evictions);
        }
    }

    /// <summary>Gets the index's migration steps so far (for tests: the work its growth did under the write lock).</summary>
    internal long IndexMigrationSteps => _table.MigrationSteps;

    /// <summary>Gets the frequency sketch's blocks copied by growth so far (for tests: the work its growth did under the write lock).</summary>
    internal long SketchBlocksCopied => _sketch.BlocksCopied;

    /// <summary>Gets the frequency sketch's size in bytes (for tests).</summary>
    internal long SketchBytes => _sketch.Bytes;

    /// <summary>Gets the index's bucket count (for tests).</summary>
    internal int IndexBucketCount => _table.BucketCount;

    /// <summary>Gets whether the key index is growing (tests).</summary>
    internal bool IndexIsMigrating => _table.IsMigrating;

    /// <summary>Gets whether the calling thread holds the write lock (for tests: user code must not run under it).</summary>
    internal bool WriteLockHeldByCurrentThread => _writeLock.IsHeldByCurrentThread;

    /// <summary>Gets the hit and miss totals (read when <c>saferefs.cache.hits</c>/<c>misses</c> are collected).</summary>
    internal (long Hits, long Misses) LookupTotals => _lookups.Read();

    /// <summary>Gets the evictions for one reason (<see cref="CacheEvictionReason.Capacity"/>,
    /// <see cref="CacheEvictionReason.Weight"/> or <see cref="CacheEvictionReason.Expired"/>), read when
    /// <c>saferefs.cache.evictions</c> is collected.</summary>
    internal long EvictionsFor(CacheEvictionReason reason) => _counters.EvictionsFor(reason);

    /// <summary>Looks a key up without locking or allocating.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The cached value, or the default value when the key is absent or expired.</param>
    /// <returns><see langword="true"/> if a live entry was found.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGet(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ObjectDisposedException.ThrowIf(_disposed, _owner);
        var node = _table.Find(key, _table.Hash(key));
        if (CountLookup(node))
        {
            value = node.Value;
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>Writes a value, replacing any value for the key; evicts the least valuable entry if the cache is full.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The weigher returned a negative weight.</exception>
    /// <exception cref="ArgumentException">The weigher returned a weight above the weight bound; nothing is stored.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public void Set(TKey key, TValue value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ObjectDisposedException.ThrowIf(_disposed, _owner);
        Write(key, value, Weigh(key, value), 0, long.MaxValue, 0, WriteMode, out _);
    }

    /// <summary>Replaces the value of a live entry; does nothing when the key is absent or its entry has expired.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The new value.</param>
    /// <returns><see langword="true"/> if a live entry was updated; <see langword="false"/> if nothing was stored
    /// (the caller keeps <paramref name="value"/>: it is not disposed).</returns>
    /// <remarks>Atomic with respect to every other write: the value is stored only if the entry is live at the
    /// instant of the write. The old value is reported by <see cref="Evicted"/> (<see cref="CacheEvictionReason.Replaced"/>)
    /// and <see cref="Updated"/>, and disposed with <see cref="BoundedLruCacheOptions{TKey, TValue}.DisposeEvictedValues"/>
    /// unless it is the same instance.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The weigher returned a negative weight.</exception>
    /// <exception cref="ArgumentException">The weigher returned a weight above the weight bound; nothing is stored.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public bool TryUpdate(TKey key, TValue value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ObjectDisposedException.ThrowIf(_disposed, _owner);
        Write(key, value, Weigh(key, value), 0, long.MaxValue, 0, UpdateMode, out var stored);
        return stored;
    }

    /// <summary>Removes an entry and hands its value to the caller.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The removed value, or the default value.</param>
    /// <returns><see langword="true"/> if an entry was removed.</returns>
    /// <remarks>The caller owns the returned value: it is not disposed, even with
    /// <see cref="BoundedLruCacheOptions{TKey, TValue}.DisposeEvictedValues"/>. <see cref="Evicted"/> still reports
    /// it with <see cref="CacheEvictionReason.Removed"/>.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public bool TryRemove(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ObjectDisposedException.ThrowIf(_disposed, _owner);
        if (RemoveKey(key, CacheEvictionReason.Removed, disposeValue: false) is { } node)
        {
            value = ValueAtRemoval(node);
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>Removes an entry; with <see cref="BoundedLruCacheOptions{TKey, TValue}.DisposeEvictedValues"/> its
    /// value is disposed, since nobody receives it.</summary>
    /// <param name="key">The key.</param>
    /// <returns><see langword="true"/> if an entry was removed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public bool TryRemove(TKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        ObjectDisposedException.ThrowIf(_disposed, _owner);
        return RemoveKey(key, CacheEvictionReason.Removed, disposeValue: true) is not null;
    }

    /// <summary>Removes an entry only if it holds the given value (compared with <see cref="EqualityComparer{T}.Default"/>),
    /// atomically with respect to every other write.</summary>
    /// <param name="item">The key and the value the entry must hold.</param>
    /// <returns><see langword="true"/> if the entry was removed.</returns>
    /// <remarks>The entry is reported with <see cref="CacheEvictionReason.Removed"/>; with
    /// <see cref="BoundedLruCacheOptions{TKey, TValue}.DisposeEvictedValues"/> its value is disposed, as with
    /// <see cref="TryRemove(TKey)"/> (use <see cref="TryRemove(TKey, out TValue)"/> to take a value over).</remarks>
    /// <exception cref="ArgumentNullException">The key of <paramref name="item"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public bool TryRemove(KeyValuePair<TKey, TValue> item)
    {
        if (item.Key is null)
        {
            throw new ArgumentNullException(nameof(item), "The key is null.");
        }

        ObjectDisposedException.ThrowIf(_disposed, _owner);
        return TryRemoveExact(item.Key, item.Value, CacheEvictionReason.Removed);
    }

    /// <summary>Removes up to <paramref name="count"/> entries, the least valuable first (in eviction order; an expired
    /// entry met on the way leaves first).</summary>
    /// <param name="count">How many entries to remove; more than <see cref="Count"/> empties the cache.</param>
    /// <returns>The number of entries removed: <c>Math.Min(count, Count)</c> at the instant of the call.</returns>
    /// <remarks>Atomic with respect to every other write. Each entry is reported by <see cref="Evicted"/> with
    /// <see cref="CacheEvictionReason.Trimmed"/> (or <see cref="CacheEvictionReason.Expired"/>) and its value is disposed
    /// with <see cref="BoundedLruCacheOptions{TKey, TValue}.DisposeEvictedValues"/>. Trimmed entries are not counted as
    /// evictions in <see cref="Statistics"/>; expired ones are. Unlike BitFaster's <c>Trim</c>, a count above the
    /// capacity is not an error.</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public int Trim(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ObjectDisposedException.ThrowIf(_disposed, _owner);
        var victims = default(Victims);
        var removed = 0;
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, _owner);
            var now = ExpiryClock();
            while (removed < count && EvictNext(_levels.Length, now, out var expired) is { } victim)
            {
                if (expired)
                {
                    _counters.CountEviction(CacheEvictionReason.Expired);
                }

                victims.Add(victim, expired ? CacheEvictionReason.Expired : CacheEvictionReason.Trimmed);
                removed++;
            }
        }

        Notify(ref victims);
        return removed;
    }

    /// <summary>Returns an enumerator over a snapshot of the live entries.</summary>
    /// <returns>An enumerator of key/value pairs taken at one instant, like <see cref="SnapshotKeys"/> (O(<see cref="Count"/>)
    /// under the write lock); later writes do not change what it returns. Enumerating is not a lookup: it neither
    /// counts hits nor changes what is evicted next.</returns>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public KeyValuePair<TKey, TValue>[] SnapshotEntries()
        => Snapshot(static node => new KeyValuePair<TKey, TValue>(node.Key, node.Value));

    /// <summary>Removes every entry (each reported with <see cref="CacheEvictionReason.Cleared"/>).</summary>
    /// <remarks>With <see cref="BoundedLruCacheOptions{TKey, TValue}.DisposeEvictedValues"/>, every value is disposed
    /// even if some disposals throw; then the failure (or an <see cref="AggregateException"/> of all of them) is
    /// thrown to this caller. <see cref="Evicted"/> handler failures are only logged and counted.</remarks>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public void Clear()
    {
        ObjectDisposedException.ThrowIf(_disposed, _owner);
        ClearCore(rethrow: true);
    }

    /// <summary>Stops the sweep timer and clears the cache; see the remarks of the type.</summary>
    public void Dispose()
    {
        lock (_writeLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _sweeper?.Dispose();
        ClearCore(rethrow: false);
    }

    void IExpirySweepable.SweepExpired()
    {
        try
        {
            _ = SweepExpired();
        }
#pragma warning disable CA1031 // A timer callback must not crash the process; handler failures were reported already.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            if (_logger is null)
            {
                return;
            }

            try
            {
                Log.CacheSweepFailed(_logger, ex);
            }
#pragma warning disable CA1031 // The logger is user code too: nothing may leave the timer thread.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    internal int SweepExpired()
    {
        if (Volatile.Read(ref _disposed))
        {
            return 0;
        }

        var now = _timeProvider.GetTimestamp();
        List<CacheNode<TKey, TValue>>? expired = null;
        foreach (var node in _table.Enumerate())
        {
            if (IsExpiredOrStale(node, now))
            {
                (expired ??= []).Add(node);
            }
        }

        if (expired is null)
        {
            return 0;
        }

        var victims = default(Victims);
        lock (_writeLock)
        {
            foreach (var node in expired)
            {
                if (_table.Remove(node))
                {
                    Unlink(node);
                    _counters.CountEviction(CacheEvictionReason.Expired);
                    victims.Add(node, CacheEvictionReason.Expired);
                }
            }
        }

        var removed = victims.Count;
        Notify(ref victims);
        return removed;
    }

    /// <summary>Removes expired entries, then evicts entries of the levels below <paramref name="levelLimit"/>
    /// (lowest level first, in policy order) until <paramref name="target"/> entries have left in total.</summary>
    internal void Compact(int target, int levelLimit)
    {
        ObjectDisposedException.ThrowIf(_disposed, _owner);
        var removed = SweepExpired();
        if (removed >= target)
        {
            return;
        }

        var victims = default(Victims);
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, _owner);
            while (removed < target && EvictNext(levelLimit, now: null, out _) is { } victim)
            {
                _counters.CountEviction(CacheEvictionReason.Capacity);
                removed++;
                victims.Add(victim, CacheEvictionReason.Capacity);
            }
        }

        Notify(ref victims);
    }

    /// <summary>Removes an entry, reporting it with <paramref name="reason"/>.</summary>
    internal bool TryRemove(TKey key, CacheEvictionReason reason) => RemoveKey(key, reason, disposeValue: true) is not null;

    /// <summary>Writes with per-entry settings (used by <see cref="BoundedMemoryCache"/>).</summary>
    internal TValue WriteEntry(TKey key, TValue value, long weight, int level, long absoluteExpiry, long sliding, bool mayBecomeStale)
    {
        ObjectDisposedException.ThrowIf(_disposed, _owner);
        if (weight > _maxWeight)
        {
            throw new ArgumentException($"The entry weighs {weight}, more than the cache's whole weight bound ({_maxWeight}); it was not stored.", nameof(weight));
        }

        return Write(key, value, weight, level, absoluteExpiry, sliding, WriteMode, out _, mayBecomeStale);
    }

    /// <summary>Removes the entry for <paramref name="key"/> only if it still holds <paramref name="value"/>.</summary>
    internal bool TryRemoveExact(TKey key, TValue value, CacheEvictionReason reason)
    {
        var hash = _table.Hash(key);
        CacheNode<TKey, TValue>? node;
        lock (_writeLock)
        {
            node = _table.Find(key, hash);
            if (node is null)
            {
                return false;
            }

            // Under the node's monitor too, so that no in-place update (TryUpdateInPlace) slips between the comparison
            // and the unlink.
            lock (node)
            {
                if (!EqualityComparer<TValue>.Default.Equals(node.Value, value) || !_table.Remove(node))
                {
                    return false;
                }

                Unlink(node);
            }

            if (reason == CacheEvictionReason.Expired)
            {
                _counters.CountEviction(reason);
            }
        }

        var victims = new Victims(node, reason);
        Notify(ref victims);
        return true;
    }

    /// <summary>Finds the node for an alternate key, after the same argument and disposal checks as a lookup.</summary>
    internal CacheNode<TKey, TValue>? FindAlternate<TAlternateKey>(TAlternateKey key, IAlternateEqualityComparer<TAlternateKey, TKey> comparer)
        where TAlternateKey : notnull, allows ref struct
    {
        if (key is null)
        {
            throw new ArgumentNullException(nameof(key));
        }

        ObjectDisposedException.ThrowIf(_disposed, _owner);
        return _table.FindAlternate(key, comparer);
    }

    internal long TimestampTicks(TimeSpan duration) => ToTimestampTicks(duration);

    internal long GetTimestamp() => _timeProvider.GetTimestamp();

    private static void ValidatePositive(TimeSpan? value, string name)
    {
        if (value is { } v && v <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, v, "The duration must be positive.");
        }
    }

    private static TimeSpan? Min(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : (a < b ? a : b);

    private long ToTimestampTicks(TimeSpan? duration)
    {
        if (duration is not { } d)
        {
            return 0;
        }

        var ticks = d.Ticks * (_timeProvider.TimestampFrequency / (double)TimeSpan.TicksPerSecond);
        return ticks >= long.MaxValue / 2 ? long.MaxValue / 2 : Math.Max(1, (long)ticks);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool IsLive(CacheNode<TKey, TValue> node)
    {
        if (node.MayBecomeStale && _isStale!(node.Value))
        {
            TryRemoveNode(node, CacheEvictionReason.Expired);
            return false;
        }

        if (node is RichCacheNode<TKey, TValue> { HasExpiry: true } rich)
        {
            var now = _timeProvider.GetTimestamp();
            if (rich.IsExpired(now))
            {
                TryRemoveNode(node, CacheEvictionReason.Expired);
                return false;
            }

            if (rich.Sliding != 0)
            {
                rich.LastAccess = now;
            }
        }

        return true;
    }

    private static bool IsTimeExpired(CacheNode<TKey, TValue> node, long now)
        => node is RichCacheNode<TKey, TValue> { HasExpiry: true } rich && rich.IsExpired(now);

    private bool IsExpiredOrStale(CacheNode<TKey, TValue> node, long now)
        => node.CheckOnRead && ((node.MayBecomeStale && _isStale!(node.Value))
            || (node is RichCacheNode<TKey, TValue> { HasExpiry: true } rich && rich.IsExpired(now)));

    /// <summary>Removes the entry for <paramref name="key"/>, reports it with <paramref name="reason"/> and returns its node.</summary>
    private CacheNode<TKey, TValue>? RemoveKey(TKey key, CacheEvictionReason reason, bool disposeValue)
    {
        var hash = _table.Hash(key);
        CacheNode<TKey, TValue>? node;
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, _owner);
            node = _table.Find(key, hash);
            if (node is null)
            {
                return null;
            }

            _table.Remove(node);
            Unlink(node);
        }

        var victims = new Victims(node, reason);
        Notify(ref victims, disposeValues: disposeValue);
        return node;
    }

    private void TryRemoveNode(CacheNode<TKey, TValue> node, CacheEvictionReason reason)
    {
        lock (_writeLock)
        {
            if (!_table.Remove(node))
            {
                return;
            }

            Unlink(node);
            _counters.CountEviction(reason);
        }

        var victims = new Victims(node, reason);
        Notify(ref victims);
    }

    private long Weigh(TKey key, TValue value)
    {
        if (_weigher is null)
        {
            return 1;
        }

        var weight = _weigher(key, value);
        if (weight < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(value), weight, "The weigher returned a negative weight.");
        }

        if (weight > _maxWeight)
        {
            throw new ArgumentException($"The weigher returned {weight} for this entry, more than the cache's whole weight bound ({_maxWeight}); it was not stored.", nameof(value));
        }

        return weight;
    }

    private CacheNode<TKey, TValue> NewNode(TKey key, int hash, TValue value, long weight, int level, long absoluteExpiry, long sliding, bool mayBecomeStale)
    {
        CacheNode<TKey, TValue> node;
        if (_weighted || _expires || absoluteExpiry != long.MaxValue || sliding != 0)
        {
            var now = _expireAfterWrite != 0 || _expireAfterAccess != 0 || absoluteExpiry != long.MaxValue || sliding != 0
                ? _timeProvider.GetTimestamp()
                : 0;
            if (_expireAfterWrite != 0)
            {
                absoluteExpiry = Math.Min(absoluteExpiry, now + _expireAfterWrite);
            }

            if (_expireAfterAccess != 0)
            {
                sliding = sliding == 0 ? _expireAfterAccess : Math.Min(sliding, _expireAfterAccess);
            }

            var rich = new RichCacheNode<TKey, TValue>(key, hash, value, weight, absoluteExpiry, sliding, now);
            rich.CheckOnRead = rich.HasExpiry;
            node = rich;
        }
        else
        {
            node = new CacheNode<TKey, TValue>(key, hash, value);
        }

        node.Level = (byte)level;
        // A value written as one that cannot become stale is never shown to the staleness check again.
        node.MayBecomeStale = mayBecomeStale && _isStale is not null;
        node.CheckOnRead |= node.MayBecomeStale;
        return node;
    }

    /// <summary>Stores <paramref name="value"/> as <paramref name="mode"/> says: always (<see cref="WriteMode"/>),
    /// unless a live entry exists (<see cref="AddIfAbsentMode"/>: returns that entry's value), or only over a live
    /// entry (<see cref="UpdateMode"/>).</summary>
    /// <returns>The value the key maps to after the call (the live entry's, when the write was declined).</returns>
    private TValue Write(TKey key, TValue value, long weight, int level, long absoluteExpiry, long sliding, byte mode, out bool stored, bool mayBecomeStale = true)
    {
        var hash = _table.Hash(key);
        stored = true;
        if (mode != AddIfAbsentMode && AtomicValueWrites && !_weighted && !_expires && absoluteExpiry == long.MaxValue && sliding == 0
            && !(mayBecomeStale && _isStale is not null)
            && !_levels[level].KeepsWriteOrder // a small cache moves every written key to the front, under the lock
            && _table.Find(key, hash) is { } existing && !existing.CheckOnRead && existing.Level == level
            && existing is not RichCacheNode<TKey, TValue> && TryUpdateInPlace(existing, value))
        {
            return value;
        }

        var node = NewNode(key, hash, value, weight, level, absoluteExpiry, sliding, mayBecomeStale);

        // Whether the resident entry went stale runs user code (a change token's HasChanged): ask before the lock,
        // never under it. An entry another writer stored in between counts as fresh (it was checked as it was stored).
        var seen = _isStale is null ? null : _table.Find(key, hash);
        var seenStale = seen is { MayBecomeStale: true } && _isStale!(seen.Value);
        var victims = default(Victims);
        var result = value;
        var discarded = false;

        // A larger index array is allocated (and cleared) here, outside the lock; the write only hands it over.
        var grown = _table.AllocateGrowth(Count);
        var growthStarted = false;
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, _owner);
            if (grown is not null)
            {
                growthStarted = _table.StartGrowth(grown);
            }

            var old = _table.Find(key, hash);
            if (old is not null)
            {
                var oldExpired = old.CheckOnRead
                    && ((seenStale && ReferenceEquals(old, seen)) || IsTimeExpired(old, _timeProvider.GetTimestamp()));
                if (mode == AddIfAbsentMode && !oldExpired)
                {
                    result = old.Value;
                    discarded = true;
                }
                else if (mode == UpdateMode && oldExpired)
                {
                    stored = false; // an update needs a live entry; the expired one is left to the sweep
                }
                else
                {
                    var (queue, frequency) = (old.Queue, old.Frequency);
                    Unlink(old);
                    EvictUntilFits(weight, ref victims);
                    _levels[level].InsertReplacement(node, queue, frequency);
                    _table.Replace(old, node);
                    Link(node, weight);
                    // BoundedMemoryCache reports an overwritten entry as replaced even if it had expired unseen, as
                    // MemoryCache does.
                    var reportExpired = oldExpired && !_overwriteIsReplace;
                    if (reportExpired)
                    {
                        _counters.CountEviction(CacheEvictionReason.Expired);
                    }

                    victims.Add(old, reportExpired ? CacheEvictionReason.Expired : CacheEvictionReason.Replaced);
                }
            }
            else if (mode == UpdateMode)
            {
                stored = false;
            }
            else
            {
                EvictUntilFits(weight, ref victims);
                Link(node, weight);
                _levels[level].Insert(node, _sketch, _counters.Count);
                _table.Add(node);
            }
        }

        if (growthStarted)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static engine => engine.CompleteGrowth(), this, preferLocal: false);
        }

        if (discarded)
        {
            stored = false;
            if (_disposeValues && !ReferenceEquals(result, value) && value is IDisposable disposable)
            {
                // The factory's value lost the race to a concurrent write and never entered the cache.
                DisposeValue(disposable, CacheEvictionReason.Replaced, ref victims);
            }
        }

        Notify(ref victims, value, updated: true);
        return result;
    }

    /// <summary>Overwrites the value of a resident plain node: no allocation, same queue position, counts as an access.</summary>
    /// <remarks>Takes the node's own monitor, not the write lock, so updates of different keys never wait for each
    /// other or for inserts. Every path that takes a node out of the cache unlinks it (<see cref="CacheNode{TKey, TValue}.Queue"/>
    /// = 0) under the write lock first, then reads the value it left with under the same monitor
    /// (<see cref="ValueAtRemoval"/>): an update that found the node linked is seen by that read, and an update that
    /// comes later finds it unlinked and takes the normal path. So every update is either part of the value the
    /// removal reports (or hands to <c>TryRemove</c>'s caller), or stored in a fresh entry; none is lost or reported
    /// twice.</remarks>
    private bool TryUpdateInPlace(CacheNode<TKey, TValue> node, TValue value)
    {
        // BoundedMemoryCache: a value whose removal must be reported always gets a fresh node (the normal path), so a
        // node's value is replaced in place only from one unobservable value to another.
        if (_removalIsSilent is not null
            && (Evicted is not null || Updated is not null || _disposeValues || !_removalIsSilent(value) || !_removalIsSilent(node.Value)))
        {
            return false;
        }

        TValue previous;
        lock (node)
        {
            if (!node.IsLinkedVolatile)
            {
                return false; // evicted, removed or cleared meanwhile: take the normal path (which checks disposal)
            }

            previous = node.Value;
            node.Value = value;
            if (node.Frequency < 3)
            {
                node.Frequency++;
            }
        }

        if (_removalIsSilent is null && (Evicted is not null || Updated is not null || _onRemoved is not null || _disposeValues))
        {
            // Reported through a detached stand-in node, so the resident node keeps its new value.
            var victims = new Victims(new CacheNode<TKey, TValue>(node.Key, node.Hash, previous), CacheEvictionReason.Replaced);
            Notify(ref victims, value, updated: true);
        }

        return true;
    }

    private void Link(CacheNode<TKey, TValue> node, long weight)
    {
        _counters.Count++;
        if (_weighted)
        {
            _counters.Weight += weight;
        }
    }

    private void Unlink(CacheNode<TKey, TValue> node)
    {
        _levels[node.Level].Remove(node);
        _counters.Count--;
        if (_weighted)
        {
            _counters.Weight -= ((RichCacheNode<TKey, TValue>)node).Weight;
        }
    }

    /// <summary>The current timestamp when resident entries may carry an expiry (so eviction prefers expired ones).</summary>
    private long? ExpiryClock() => _mayExpire ? _timeProvider.GetTimestamp() : null;

    private void EvictUntilFits(long weight, ref Victims victims)
    {
        while (_counters.Count >= _capacity || (_weighted && _counters.Weight + weight > _maxWeight))
        {
            var reason = _counters.Count >= _capacity ? CacheEvictionReason.Capacity : CacheEvictionReason.Weight;
            if (EvictNext(_levels.Length, ExpiryClock(), out var expired) is not { } victim)
            {
                return;
            }

            reason = expired ? CacheEvictionReason.Expired : reason;
            _counters.CountEviction(reason);
            victims.Add(victim, reason);
        }
    }

    /// <summary>Takes the next victim of the lowest non-empty level below <paramref name="levelLimit"/> out of the
    /// cache (queues, index and counters, not the eviction count). Caller holds the write lock.</summary>
    /// <returns>The victim, or <see langword="null"/> when those levels are empty.</returns>
    private CacheNode<TKey, TValue>? EvictNext(int levelLimit, long? now, out bool expired)
    {
        for (var i = 0; i < levelLimit && i < _levels.Length; i++)
        {
            if (_levels[i].Count > 0)
            {
                (var victim, expired) = _levels[i].Evict(_sketch, _counters.Count, now);
                _table.Remove(victim);
                _counters.Count--;
                if (_weighted)
                {
                    _counters.Weight -= ((RichCacheNode<TKey, TValue>)victim).Weight;
                }

                return victim;
            }
        }

        expired = false;
        return null;
    }

    /// <summary>Test seam: called with the engine when a background completion of an index growth has ended.</summary>
    internal static Action<CacheEngine<TKey, TValue>>? GrowthCompletedHook { get; set; }

    /// <summary>
    /// Finishes an index growth in the background. Inserts move a few nodes each, so a cache whose inserts stop in the
    /// middle of a growth would leave lookups of the keys not yet moved searching both bucket arrays for good. This
    /// moves the rest a bounded part per hold of the write lock, so no writer waits long. No user code runs here.
    /// </summary>
    private void CompleteGrowth()
    {
        const int StepsPerHold = 64;
        var more = true;
        while (more)
        {
            lock (_writeLock)
            {
                if (_disposed)
                {
                    break;
                }

                for (var i = 0; i < StepsPerHold && (more = _table.MigrateStep()); i++)
                {
                }
            }
        }

        GrowthCompletedHook?.Invoke(this);
    }

    /// <summary>The keys of every resident entry at one instant, expired ones not yet removed included (what
    /// <c>MemoryCache.Keys</c> shows); O(<see cref="Count"/>) under the write lock, so a concurrent write or a growing
    /// index never makes a key appear twice or go missing. Empty, not throwing, once the cache is disposed.</summary>
    internal TKey[] SnapshotResidentKeys()
    {
        var nodes = new List<CacheNode<TKey, TValue>>(Count); // allocated outside the lock; grows only if writes raced
        lock (_writeLock)
        {
            foreach (var level in _levels)
            {
                level.AppendTo(nodes);
            }
        }

        var keys = new TKey[nodes.Count];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = nodes[i].Key;
        }

        return keys;
    }

    /// <summary>Copies the live entries, projected by <paramref name="select"/>, at one instant (under the write lock).</summary>
    private T[] Snapshot<T>(Func<CacheNode<TKey, TValue>, T> select)
    {
        var nodes = new List<CacheNode<TKey, TValue>>(Count); // allocated outside the lock; grows only if writes raced
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, _owner);
            foreach (var level in _levels)
            {
                level.AppendTo(nodes);
            }
        }

        var now = _mayExpire ? _timeProvider.GetTimestamp() : 0;
        var result = new T[nodes.Count];
        var count = 0;
        foreach (var node in nodes)
        {
            if (!(_mayExpire && node is RichCacheNode<TKey, TValue> { HasExpiry: true } rich && rich.IsExpired(now)))
            {
                result[count++] = select(node);
            }
        }

        if (count < result.Length)
        {
            Array.Resize(ref result, count);
        }

        return result;
    }

    /// <summary>Counts a lookup that found <paramref name="node"/> (or nothing) and tells whether it is a hit; a
    /// hit raises the node's access counter.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool CountLookup([NotNullWhen(true)] CacheNode<TKey, TValue>? node)
    {
        if (node is not null && (!node.CheckOnRead || IsLive(node)))
        {
            if (node.Frequency < 3)
            {
                node.Frequency++;
            }

            _lookups.Hit();
            return true;
        }

        _lookups.Miss();
        return false;
    }

    private void ClearCore(bool rethrow)
    {
        var nodes = new List<CacheNode<TKey, TValue>>();
        lock (_writeLock)
        {
            foreach (var level in _levels)
            {
                level.DrainTo(nodes);
            }

            _table.Clear();
            _sketch.Clear();
            _counters.Count = 0;
            _counters.Weight = 0;
        }

        var victims = default(Victims);
        foreach (var node in nodes)
        {
            victims.Add(node, CacheEvictionReason.Cleared);
        }

        nodes.Clear();
        Notify(ref victims, rethrowDisposal: rethrow);
    }

    /// <summary>Reports the entries that left: metrics, the owner's removal hook, <see cref="Evicted"/> handlers and
    /// value disposal. Observer failures are logged and counted, never thrown: the caller's operation succeeded.
    /// Value disposal failures are thrown (aggregated) only when <paramref name="rethrowDisposal"/> is set, for an
    /// explicit <see cref="Clear"/>.</summary>
    /// <param name="victims">The entries that left.</param>
    /// <param name="keptValue">A value that replaced a victim and must not be disposed with it.</param>
    /// <param name="rethrowDisposal">Whether value disposal failures are thrown to the caller at the end.</param>
    /// <param name="disposeValues">Whether victims' values are disposed (not when the caller takes them over).</param>
    /// <param name="updated">Whether a <see cref="CacheEvictionReason.Replaced"/> victim was replaced by
    /// <paramref name="keptValue"/> in a live entry (raises <see cref="Updated"/>).</param>
    private void Notify(ref Victims victims, TValue? keptValue = default, bool rethrowDisposal = false, bool disposeValues = true, bool updated = false)
    {
        if (victims.Count == 0)
        {
            return;
        }

        for (var i = 0; i < victims.Count; i++)
        {
            var (node, reason) = victims[i];
            if (_onRemoved is null && Evicted is null && !(updated && Updated is not null) && !(disposeValues && _disposeValues))
            {
                continue; // nobody observes the value
            }

            var value = ValueAtRemoval(node);
            if (_onRemoved is not null)
            {
                try
                {
                    _onRemoved(node.Key, value, reason);
                }
                catch (Exception ex)
                {
                    ReportCallbackFailure(ex, CacheCallback.Removal, reason);
                }
            }

            if (Evicted is { } handler)
            {
                RaiseEvicted(handler, new CacheEvictedEventArgs<TKey, TValue>(node.Key, value, reason));
            }

            if (updated && reason == CacheEvictionReason.Replaced && Updated is { } updatedHandler)
            {
                RaiseUpdated(updatedHandler, new CacheUpdatedEventArgs<TKey, TValue>(node.Key, value, keptValue!));
            }

            if (disposeValues && _disposeValues && value is IDisposable disposable
                && !(reason == CacheEvictionReason.Replaced && ReferenceEquals(value, keptValue)))
            {
                DisposeValue(disposable, reason, ref victims);
            }
        }

        if (rethrowDisposal)
        {
            victims.ThrowIfFailed();
        }
    }

    /// <summary>Reads the value an unlinked node left the cache with, under the node's monitor, which orders the read
    /// after any in-place update that found the node still linked (see <see cref="TryUpdateInPlace"/>).</summary>
    private static TValue ValueAtRemoval(CacheNode<TKey, TValue> node)
    {
        lock (node)
        {
            return node.Value;
        }
    }

    /// <summary>Runs every <see cref="Evicted"/> handler, each on its own: one that throws neither stops the others
    /// nor fails the caller.</summary>
    private void RaiseEvicted(EventHandler<CacheEvictedEventArgs<TKey, TValue>> handler, CacheEvictedEventArgs<TKey, TValue> args)
    {
        if (handler.HasSingleTarget)
        {
            try
            {
                handler(_owner, args);
            }
            catch (Exception ex)
            {
                ReportCallbackFailure(ex, CacheCallback.Evicted, args.Reason);
            }

            return;
        }

        foreach (var single in Delegate.EnumerateInvocationList(handler))
        {
            try
            {
                single(_owner, args);
            }
            catch (Exception ex)
            {
                ReportCallbackFailure(ex, CacheCallback.Evicted, args.Reason);
            }
        }
    }

    /// <summary>Runs every <see cref="Updated"/> handler, each on its own (as <see cref="RaiseEvicted"/>).</summary>
    private void RaiseUpdated(EventHandler<CacheUpdatedEventArgs<TKey, TValue>> handler, CacheUpdatedEventArgs<TKey, TValue> args)
    {
        foreach (var single in Delegate.EnumerateInvocationList(handler))
        {
            try
            {
                single(_owner, args);
            }
            catch (Exception ex)
            {
                ReportCallbackFailure(ex, CacheCallback.Updated, CacheEvictionReason.Replaced);
            }
        }
    }

    /// <summary>
    /// Counts and logs (through the cache's logger) a failure of user code the cache called as an observer. Never
    /// throws: the logger and metric listeners are user code too, and the caller may be an unrelated lookup or the
    /// sweeper's timer.
    /// </summary>
    internal void ReportCallbackFailure(Exception exception, CacheCallback callback, CacheEvictionReason reason)
        => ReportCallbackFailure(exception, callback, reason.ToString());

    /// <inheritdoc cref="ReportCallbackFailure(Exception, CacheCallback, CacheEvictionReason)"/>
    internal void ReportCallbackFailure(Exception exception, CacheCallback callback, string reason)
    {
        try
        {
            _metrics.CallbackFailed(callback);
            if (_logger is null)
            {
                return;
            }

            switch (callback)
            {
                case CacheCallback.ValueDispose:
                    Log.CacheValueDisposeFailed(_logger, exception, reason);
                    break;
                case CacheCallback.PostEviction:
                    Log.CachePostEvictionCallbackFailed(_logger, exception, reason);
                    break;
                case CacheCallback.TokenRegistration:
                    Log.CacheTokenRegistrationDisposeFailed(_logger, exception);
                    break;
                case CacheCallback.Updated:
                    Log.CacheUpdateHandlerFailed(_logger, exception);
                    break;
                default:
                    Log.CacheEvictionHandlerFailed(_logger, exception, reason);
                    break;
            }
        }
#pragma warning disable CA1031 // A logger or metric listener is user code: reporting must not fail the cache's caller.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private void DisposeValue(IDisposable disposable, CacheEvictionReason reason, ref Victims victims)
    {
        try
        {
            disposable.Dispose();
        }
        catch (Exception ex)
        {
            ReportCallbackFailure(ex, CacheCallback.ValueDispose, reason);
            victims.Fail(ex);
        }
    }

    /// <summary>The entries that left during one call: the first inline, more in a list; plus failures of value disposal.</summary>
    private struct Victims
    {
        private CacheNode<TKey, TValue>? _first;
        private CacheEvictionReason _firstReason;
        private List<(CacheNode<TKey, TValue>, CacheEvictionReason)>? _rest;
        private List<Exception>? _failures;

        public Victims(CacheNode<TKey, TValue> node, CacheEvictionReason reason)
        {
            _first = node;
            _firstReason = reason;
        }

        public readonly int Count => _first is null ? 0 : 1 + (_rest?.Count ?? 0);

        public readonly (CacheNode<TKey, TValue> Node, CacheEvictionReason Reason) this[int index]
            => index == 0 ? (_first!, _firstReason) : _rest![index - 1];

        public void Add(CacheNode<TKey, TValue> node, CacheEvictionReason reason)
        {
            if (_first is null)
            {
                _first = node;
                _firstReason = reason;
            }
            else
            {
                (_rest ??= []).Add((node, reason));
            }
        }

        public void Fail(Exception exception) => (_failures ??= []).Add(exception);

        public readonly void ThrowIfFailed()
        {
            if (_failures is null)
            {
                return;
            }

            if (_failures.Count == 1)
            {
                ExceptionDispatchInfo.Throw(_failures[0]);
            }

            throw new AggregateException("Disposing several values that left the cache failed.", _failures);
        }
    }
}
