using System.Diagnostics.Metrics;

namespace SafeRefs.Internal;

/// <content>Caching instruments.</content>
internal static partial class Metrics
{
    // Nested so that the instruments are created after Meter (static initialisers of partial files run in an
    // unspecified file order).
    internal static class Cache
    {
        /// <summary>Entries resident in all SafeRefs caches.</summary>
        internal static readonly UpDownCounter<long> Entries =
            Meter.CreateUpDownCounter<long>("saferefs.cache.entries", "{entry}", "Entries resident in SafeRefs bounded caches.");

        /// <summary>Entries that left a cache because of its bound or their expiry (tag <c>reason</c>).</summary>
        internal static readonly Counter<long> Evictions =
            Meter.CreateCounter<long>("saferefs.cache.evictions", "{entry}", "Entries evicted from SafeRefs bounded caches (capacity, weight or expiry).");

        /// <summary>Lookups that found a live entry.</summary>
        internal static readonly Counter<long> Hits =
            Meter.CreateCounter<long>("saferefs.cache.hits", "{lookup}", "Lookups that found a live entry in a SafeRefs bounded cache.");

        /// <summary>Lookups that found nothing.</summary>
        internal static readonly Counter<long> Misses =
            Meter.CreateCounter<long>("saferefs.cache.misses", "{lookup}", "Lookups that found no live entry in a SafeRefs bounded cache.");

        private static readonly KeyValuePair<string, object?>[] ReasonTags =
        [
            new("reason", "none"),
            new("reason", "capacity"),
            new("reason", "weight"),
            new("reason", "expired"),
        ];

        internal static KeyValuePair<string, object?> ReasonTag(int reason) => ReasonTags[reason is >= 0 and <= 3 ? reason : 0];
    }
}
