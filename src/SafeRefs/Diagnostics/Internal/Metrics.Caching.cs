using System.Diagnostics.Metrics;

namespace SafeRefs.Diagnostics.Internal;

/// <content>Caching instruments.</content>
internal sealed partial class Metrics
{
    /// <summary>Gets the caching instruments of this set.</summary>
    internal CacheInstruments Cache { get; }

    /// <summary>
    /// Caching instruments. Entries, hits, misses and evictions are all observed: when a listener collects them, they
    /// read the exact counters every live cache of this set keeps anyway (its <c>Count</c>, its striped lookup counters,
    /// its per-reason eviction counters kept under its write lock), summed per cache name, so lookups and writes pay
    /// nothing for them whether or not anyone listens, and the values never drift. A cache that is collected stops
    /// contributing, so the sum of a name can go down then (read as a reset by cumulative back-ends). Observer
    /// failures are recorded as they happen (rare), only while listened to. Tag: <c>saferefs.cache.name</c> (and
    /// <c>reason</c> on evictions, <c>callback</c> on failures).
    /// </summary>
    internal sealed class CacheInstruments
    {
        private static readonly string[] Callbacks = ["evicted", "removal", "value_dispose", "post_eviction", "token_registration", "updated"];

        private static readonly (Caching.CacheEvictionReason Reason, string Tag)[] EvictionReasons =
        [
            (Caching.CacheEvictionReason.Capacity, "capacity"),
            (Caching.CacheEvictionReason.Weight, "weight"),
            (Caching.CacheEvictionReason.Expired, "expired"),
        ];

        // Keyed by the cache object, so a cache that is dropped without Dispose leaves the table when it is collected.
        private readonly LiveCountSet _caches = new();

        internal CacheInstruments(Meter meter)
        {
            Entries = Publish(meter, "saferefs.cache.entry.count", (m, n) => m.CreateObservableUpDownCounter(
                n,
                _caches.Observe,
                unit: "{entry}",
                description: "Entries resident in SafeRefs bounded caches."));
            Evictions = Publish(meter, "saferefs.cache.evictions", (m, n) => m.CreateObservableCounter(
                n,
                ObserveEvictions,
                unit: "{entry}",
                description: "Entries evicted from SafeRefs bounded caches because of their bound or expiry."));
            CallbackFailures = Publish(meter, "saferefs.cache.callback.failures", (m, n) => m.CreateCounter<long>(
                n,
                unit: "{failure}",
                description: "Observer calls (eviction and update handlers, post-eviction callbacks, value disposal) of SafeRefs bounded caches that threw; logged and swallowed."));
            Hits = Publish(meter, "saferefs.cache.hits", (m, n) => m.CreateObservableCounter(
                n,
                () => Observe(static cache => cache.Lookups.Hits, reasonTag: null),
                unit: "{lookup}",
                description: "Lookups that found a live entry in a SafeRefs bounded cache."));
            Misses = Publish(meter, "saferefs.cache.misses", (m, n) => m.CreateObservableCounter(
                n,
                () => Observe(static cache => cache.Lookups.Misses, reasonTag: null),
                unit: "{lookup}",
                description: "Lookups that found no live entry in a SafeRefs bounded cache."));
        }

        internal ObservableUpDownCounter<long> Entries { get; }

        internal ObservableCounter<long> Evictions { get; }

        internal ObservableCounter<long> Hits { get; }

        internal ObservableCounter<long> Misses { get; }

        internal Counter<long> CallbackFailures { get; }

        internal static KeyValuePair<string, object?> CallbackTag(Caching.Internal.CacheCallback callback) => new(MetricTags.CallbackKind, Callbacks[(int)callback]);

        /// <summary>Registers <paramref name="cache"/> for the observed instruments and returns its recorder.</summary>
        internal CacheMetrics Track<TKey, TValue>(Caching.Internal.CacheEngine<TKey, TValue> cache, string? name)
            where TKey : notnull
        {
            var metrics = new CacheMetrics<TKey, TValue>(this, name, cache);
            _caches.Register(cache, metrics);
            return metrics;
        }

        private List<Measurement<long>> ObserveEvictions()
        {
            var measurements = new List<Measurement<long>>();
            foreach (var (reason, tag) in EvictionReasons)
            {
                measurements.AddRange(Observe(cache => cache.EvictionsFor(reason), new KeyValuePair<string, object?>(MetricTags.CacheEvictionReason, tag)));
            }

            return measurements;
        }

        /// <summary>One measurement per cache name: the sum of <paramref name="read"/> over the live caches.</summary>
        private List<Measurement<long>> Observe(Func<CacheMetrics, long> read, KeyValuePair<string, object?>? reasonTag)
        {
            var sums = new Dictionary<object, long>();
            foreach (var count in _caches.Counts())
            {
                var name = count.Tag.Value ?? "(unnamed)";
                sums[name] = sums.GetValueOrDefault(name) + read((CacheMetrics)count);
            }

            var measurements = new List<Measurement<long>>(sums.Count);
            foreach (var (name, sum) in sums)
            {
                var nameTag = new KeyValuePair<string, object?>(MetricTags.CacheName, name);
                measurements.Add(reasonTag is { } reason ? new Measurement<long>(sum, nameTag, reason) : new Measurement<long>(sum, nameTag));
            }

            return measurements;
        }
    }

    /// <summary>The name tag of one cache and what the observed instruments read from it; the cache keeps it in a field.</summary>
    internal abstract class CacheMetrics : ObservedCount
    {
        private protected CacheMetrics(CacheInstruments instruments, string? name)
            : base(new KeyValuePair<string, object?>(MetricTags.CacheName, name ?? "(unnamed)"))
        {
            CallbackFailures = instruments.CallbackFailures;
        }

        internal Counter<long> CallbackFailures { get; }

        /// <summary>Gets the cache's hit and miss totals.</summary>
        internal abstract (long Hits, long Misses) Lookups { get; }

        /// <summary>Gets the <c>saferefs.cache.name</c> tag.</summary>
        internal KeyValuePair<string, object?> NameTag => Tag;

        /// <summary>Gets the cache's evictions for one reason.</summary>
        internal abstract long EvictionsFor(Caching.CacheEvictionReason reason);

        /// <summary>Records one observer call that threw, if someone listens.</summary>
        internal void CallbackFailed(Caching.Internal.CacheCallback callback)
        {
            if (CallbackFailures.Enabled)
            {
                CallbackFailures.Add(1, NameTag, CacheInstruments.CallbackTag(callback));
            }
        }
    }

    /// <summary>The <see cref="CacheMetrics"/> of one cache engine (no delegate, no closure).</summary>
    private sealed class CacheMetrics<TKey, TValue>(CacheInstruments instruments, string? name, Caching.Internal.CacheEngine<TKey, TValue> cache)
        : CacheMetrics(instruments, name)
        where TKey : notnull
    {
        /// <summary>Gets the cache's exact entry count (read when <c>saferefs.cache.entry.count</c> is collected).</summary>
        internal override long Count => cache.Count;

        internal override (long Hits, long Misses) Lookups => cache.LookupTotals;

        internal override long EvictionsFor(Caching.CacheEvictionReason reason) => cache.EvictionsFor(reason);
    }
}
