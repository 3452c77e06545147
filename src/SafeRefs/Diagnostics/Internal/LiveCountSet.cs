using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace SafeRefs.Diagnostics.Internal;

/// <summary>
/// The counts behind one observed up-down counter (live-count trackers, caches' entry counts): each is registered
/// under the primitive that holds it, weakly, and an observation sums the counts of the primitives still alive per tag
/// value.
/// </summary>
/// <remarks>Thread-safe: registration and observation may run concurrently with counting.</remarks>
internal sealed class LiveCountSet
{
    // Keyed by the primitive, so that a primitive dropped without Dispose leaves the table when it is collected.
    private readonly ConditionalWeakTable<object, ObservedCount> _counts = new();

    /// <summary>Registers <paramref name="count"/>, observed for <paramref name="owner"/> while it lives.</summary>
    /// <param name="owner">The primitive that holds the count (once: each primitive registers one).</param>
    /// <param name="count">Its count.</param>
    internal void Register(object owner, ObservedCount count) => _counts.AddOrUpdate(owner, count);

    /// <summary>Enumerates the counts of the primitives still alive (for instruments that read more than the count).</summary>
    internal IEnumerable<ObservedCount> Counts()
    {
        foreach (var (_, count) in _counts)
        {
            yield return count;
        }
    }

    /// <summary>The instrument's callback: one measurement per tag value, the sum over the live primitives.</summary>
    internal List<Measurement<long>> Observe()
    {
        var sums = new Dictionary<(string Key, object? Value), long>();
        foreach (var (_, count) in _counts)
        {
            var key = (count.Tag.Key, count.Tag.Value);
            sums[key] = sums.GetValueOrDefault(key) + count.Count;
        }

        var measurements = new List<Measurement<long>>(sums.Count);
        foreach (var ((key, value), sum) in sums)
        {
            measurements.Add(new Measurement<long>(sum, new KeyValuePair<string, object?>(key, value)));
        }

        return measurements;
    }
}
