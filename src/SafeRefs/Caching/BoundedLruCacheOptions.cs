using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace SafeRefs.Caching;

/// <summary>Configures a <see cref="BoundedLruCache{TKey, TValue}"/>.</summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
/// <remarks>
/// <para><b>Holds</b> what you put in it (weigher, time provider, comparer, logger) strongly; the cache copies the
/// settings when it is created, so later changes to the options do not affect it.</para>
/// <para><b>Thread safety:</b> a plain settings bag; do not mutate it while a cache is being created from it.</para>
/// </remarks>
public sealed class BoundedLruCacheOptions<TKey, TValue>
    where TKey : notnull
{
    /// <summary>Gets or sets the maximum number of entries.</summary>
    /// <value>At least 1; there is no default (0 is rejected).</value>
    public int Capacity { get; set; }

    /// <summary>Gets or sets an optional second bound: the maximum total weight of the entries.</summary>
    /// <value><see langword="null"/> (no weight bound) by default; must be positive when set.</value>
    public long? MaxWeight { get; set; }

    /// <summary>Gets or sets the function that weighs an entry when <see cref="MaxWeight"/> is set.</summary>
    /// <value><see langword="null"/> by default: every entry weighs 1. A negative weight is rejected with
    /// <see cref="ArgumentOutOfRangeException"/>; a weight above <see cref="MaxWeight"/> with <see cref="ArgumentException"/>
    /// (the entry is not stored).</value>
    public Func<TKey, TValue, long>? Weigher { get; set; }

    /// <summary>Gets or sets how long an entry lives after it was written.</summary>
    /// <value><see langword="null"/> (no expiry) by default; must be positive when set.</value>
    public TimeSpan? ExpireAfterWrite { get; set; }

    /// <summary>Gets or sets how long an entry lives after it was last read or written (sliding).</summary>
    /// <value><see langword="null"/> (no expiry) by default; must be positive when set.</value>
    public TimeSpan? ExpireAfterAccess { get; set; }

    /// <summary>Gets or sets how often a timer sweeps expired entries when an expiry is configured.</summary>
    /// <value><see langword="null"/> by default: the shortest expiry, clamped between 1 second and 1 minute.</value>
    public TimeSpan? ExpirationScanInterval { get; set; }

    /// <summary>Gets or sets the clock used for expiry and the sweep timer.</summary>
    /// <value><see cref="TimeProvider.System"/> by default.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Gets or sets a value indicating whether <see cref="IDisposable"/> values are disposed once they leave the cache.</summary>
    /// <value><see langword="false"/> by default. When set, every value is disposed exactly once, after it left the
    /// cache for any reason (evicted, expired, removed, replaced by a different instance, cleared, cache disposed).</value>
    public bool DisposeEvictedValues { get; set; }

    /// <summary>Gets or sets the key comparer.</summary>
    /// <value><see langword="null"/> by default: <see cref="EqualityComparer{T}.Default"/>.</value>
    public IEqualityComparer<TKey>? Comparer { get; set; }

    /// <summary>Gets or sets the logger that reports failures of <see cref="BoundedLruCache{TKey, TValue}.Evicted"/> handlers and value disposal.</summary>
    /// <value><see langword="null"/> by default (nothing is logged).</value>
    public ILogger? Logger { get; set; }

    /// <summary>Gets or sets the cache's name, reported as the <c>saferefs.cache.name</c> tag of the <c>saferefs.cache.*</c> instruments.</summary>
    /// <value><see langword="null"/> by default, reported as <c>(unnamed)</c>. Use a fixed name per cache (such as
    /// <c>products</c>), never a per-request value: every distinct name is a separate time series. Caches that share
    /// a name are summed together.</value>
    public string? Name { get; set; }

    /// <summary>Gets or sets the factory whose <c>SafeRefs</c> meter records the cache's metrics.</summary>
    /// <value><see langword="null"/> by default: the process-wide static <c>SafeRefs</c> meter. Pass the container's
    /// <see cref="IMeterFactory"/> to report through its meter instead (see <c>docs/diagnostics.md</c>).</value>
    public IMeterFactory? MeterFactory { get; set; }
}
