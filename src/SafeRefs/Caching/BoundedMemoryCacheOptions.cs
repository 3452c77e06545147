using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace SafeRefs.Caching;

/// <summary>Configures a <see cref="BoundedMemoryCache"/>.</summary>
/// <remarks>
/// <para><b>Holds</b> what you put in it strongly; the cache copies the settings when it is created.</para>
/// <para><b>Thread safety:</b> a plain settings bag; do not mutate it while a cache is being created from it.</para>
/// <para>With dependency injection it is an ordinary options type: <c>services.Configure&lt;BoundedMemoryCacheOptions&gt;(…)</c>
/// (or a configuration section) configures the cache that
/// <see cref="BoundedMemoryCacheServiceCollectionExtensions.AddBoundedMemoryCache(Microsoft.Extensions.DependencyInjection.IServiceCollection)"/> registers.</para>
/// </remarks>
public sealed class BoundedMemoryCacheOptions
{
    /// <summary>Gets or sets the maximum number of entries.</summary>
    /// <value>10 000 by default; at least 1.</value>
    public int Capacity { get; set; } = 10_000;

    /// <summary>Gets or sets an optional bound on the sum of the entries' <c>Size</c>.</summary>
    /// <value><see langword="null"/> (entries bounded by count only) by default. When set, an entry without a
    /// <c>Size</c> counts as 1 (never an exception), and an entry larger than the whole limit is not stored
    /// (its post-eviction callbacks run with <c>EvictionReason.Capacity</c>).</value>
    public long? SizeLimit { get; set; }

    /// <summary>Gets or sets how often a timer sweeps expired entries (the cache is held weakly by that timer).</summary>
    /// <value>1 minute by default; must be positive.</value>
    public TimeSpan ExpirationScanFrequency { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Gets or sets the clock for expirations and the sweep timer.</summary>
    /// <value><see cref="TimeProvider.System"/> by default.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Gets or sets a value indicating whether an entry created, or a value read, while another entry's
    /// creation scope is open hands its expiration tokens and absolute expiration to that entry (as with
    /// <c>MemoryCacheOptions.TrackLinkedCacheEntries</c>).</summary>
    /// <value><see langword="false"/> by default (no async-local bookkeeping per entry).</value>
    public bool TrackLinkedCacheEntries { get; set; }

    /// <summary>Gets or sets the logger factory used to report failing post-eviction callbacks.</summary>
    /// <value><see langword="null"/> by default; <see cref="BoundedMemoryCacheServiceCollectionExtensions.AddBoundedMemoryCache(Microsoft.Extensions.DependencyInjection.IServiceCollection)"/> fills it from the container.</value>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Gets or sets the cache's name, reported as the <c>saferefs.cache.name</c> tag of the <c>saferefs.cache.*</c> instruments.</summary>
    /// <value><see langword="null"/> by default, reported as <c>(unnamed)</c>;
    /// <see cref="BoundedMemoryCacheServiceCollectionExtensions.AddBoundedMemoryCache(Microsoft.Extensions.DependencyInjection.IServiceCollection)"/> sets <c>IMemoryCache</c> when
    /// it is not configured. Use a fixed name per cache, never a per-request value.</value>
    public string? Name { get; set; }

    /// <summary>Gets or sets the factory whose <c>SafeRefs</c> meter records the cache's metrics.</summary>
    /// <value><see langword="null"/> by default: the process-wide static <c>SafeRefs</c> meter;
    /// <see cref="BoundedMemoryCacheServiceCollectionExtensions.AddBoundedMemoryCache(Microsoft.Extensions.DependencyInjection.IServiceCollection)"/> fills it from the container.</value>
    public IMeterFactory? MeterFactory { get; set; }

    /// <summary>Copies these settings (the container's options instance is shared and must not be filled in).</summary>
    internal BoundedMemoryCacheOptions Copy() => (BoundedMemoryCacheOptions)MemberwiseClone();
}
