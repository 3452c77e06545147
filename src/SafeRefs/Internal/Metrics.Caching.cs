using System.Diagnostics.Metrics;

namespace SafeRefs.Internal;

/// <content>Caching instruments.</content>
internal sealed partial class Metrics
{
    /// <summary>Gets the caching instruments of this set.</summary>
    internal CacheInstruments Cache { get; }

    /// <summary>
    /// Caching instruments. <c>saferefs.cache.entries</c> is observed: when a listener collects it, it reads the exact
    /// <c>Count</c> of every live cache of this set, summed per cache name, so writes pay nothing for it and the value
    /// never drifts. Hits, misses and evictions are recorded as they happen, only while listened to. Tag:
    /// <c>cache.name</c> (and <c>reason</c> on evictions).
    /// </summary>
    internal sealed class CacheInstruments
    {
        private static readonly string[] Reasons = ["none", "capacity", "weight", "expired"];
        private static readonly string[] Callbacks = ["evicted", "removal", "value_dispose", "post_eviction", "token_registration", "updated"];

        // Keyed by the cache object, so a cache that is dropped without Dispose leaves the table when it is collected.
        private readonly LiveCountSet _caches = new();

        internal CacheInstruments(Meter meter)
        {
            Entries = meter.CreateObservableUpDownCounter(
                "saferefs.cache.entries",
                _caches.Observe,
                unit: "{entry}",
                description: "Entries resident in SafeRefs bounded caches.");
            Evictions = meter.CreateCounter<long>(
                "saferefs.cache.evictions",
                unit: "{entry}",
                description: "Entries evicted from SafeRefs bounded caches because of their bound or expiry.");
            CallbackFailures = meter.CreateCounter<long>(
                "saferefs.cache.callback.failures",
                unit: "{failure}",
                description: "Observer calls (eviction handlers, post-eviction callbacks, value disposal) of SafeRefs bounded caches that threw; logged and swallowed.");
            Hits = meter.CreateCounter<long>(
                "saferefs.cache.hits",
                unit: "{lookup}",
                description: "Lookups that found a live entry in a SafeRefs bounded cache.");
            Misses = meter.CreateCounter<long>(
                "saferefs.cache.misses",
                unit: "{lookup}",
                description: "Lookups that found no live entry in a SafeRefs bounded cache.");
        }

        internal ObservableUpDownCounter<long> Entries { get; }

        internal Counter<long> Evictions { get; }

        internal Counter<long> Hits { get; }

        internal Counter<long> Misses { get; }

        internal Counter<long> CallbackFailures { get; }

        internal static KeyValuePair<string, object?> CallbackTag(Caching.Internal.CacheCallback callback) => new("callback", Callbacks[(int)callback]);

        internal static KeyValuePair<string, object?> ReasonTag(int reason) => new("reason", Reasons[reason is >= 0 and <= 3 ? reason : 0]);

        /// <summary>Registers <paramref name="cache"/> for <c>saferefs.cache.entries</c> and returns its recorder.</summary>
        internal CacheMetrics Track<TKey, TValue>(Caching.BoundedLruCache<TKey, TValue> cache, string? name)
            where TKey : notnull
        {
            var metrics = new CacheMetrics<TKey, TValue>(this, name, cache);
            _caches.Register(cache, metrics);
            return metrics;
        }
    }

    /// <summary>The instruments and name tag of one cache; the cache keeps it in a field.</summary>
    internal abstract class CacheMetrics : ObservedCount
    {
        private protected CacheMetrics(CacheInstruments instruments, string? name)
            : base(new KeyValuePair<string, object?>("cache.name", name ?? "(unnamed)"))
        {
            Hits = instruments.Hits;
            Misses = instruments.Misses;
            Evictions = instruments.Evictions;
            CallbackFailures = instruments.CallbackFailures;
        }

        internal Counter<long> CallbackFailures { get; }

        internal Counter<long> Hits { get; }

        internal Counter<long> Misses { get; }

        internal Counter<long> Evictions { get; }

        /// <summary>Gets the <c>cache.name</c> tag.</summary>
        internal KeyValuePair<string, object?> NameTag => Tag;

        /// <summary>Records one eviction (capacity, weight or expiry), if someone listens.</summary>
        internal void Evicted(int reason)
        {
            if (Evictions.Enabled)
            {
                Evictions.Add(1, NameTag, CacheInstruments.ReasonTag(reason));
            }
        }

        /// <summary>Records one observer call that threw, if someone listens.</summary>
        internal void CallbackFailed(Caching.Internal.CacheCallback callback)
        {
            if (CallbackFailures.Enabled)
            {
                CallbackFailures.Add(1, NameTag, CacheInstruments.CallbackTag(callback));
            }
        }
    }

    /// <summary>The <see cref="CacheMetrics"/> of one <see cref="Caching.BoundedLruCache{TKey, TValue}"/> (no delegate, no closure).</summary>
    private sealed class CacheMetrics<TKey, TValue>(CacheInstruments instruments, string? name, Caching.BoundedLruCache<TKey, TValue> cache)
        : CacheMetrics(instruments, name)
        where TKey : notnull
    {
        /// <summary>Gets the cache's exact entry count (read when <c>saferefs.cache.entries</c> is collected).</summary>
        internal override long Count => cache.Count;
    }
}
