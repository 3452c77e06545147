using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace SafeRefs.Internal;

/// <summary>
/// The live-count trackers behind one observed up-down counter: each is registered under the primitive that holds it,
/// weakly, and an observation sums the counts of the primitives still alive per tag value.
/// </summary>
/// <remarks>Thread-safe: registration and observation may run concurrently with counting.</remarks>
internal sealed class LiveCountSet
{
    // Keyed by the primitive, so that a primitive dropped without Dispose leaves the table when it is collected.
    private readonly ConditionalWeakTable<object, LiveCountTracker> _trackers = new();

    /// <summary>Registers <paramref name="tracker"/>, counted for <paramref name="owner"/> from now on.</summary>
    /// <param name="owner">The primitive that holds the tracker (once: each primitive registers one tracker).</param>
    /// <param name="tracker">Its tracker.</param>
    internal void Register(object owner, LiveCountTracker tracker) => _trackers.AddOrUpdate(owner, tracker);

    /// <summary>The instrument's callback: one measurement per tag value, the sum over the live primitives.</summary>
    internal List<Measurement<long>> Observe()
    {
        var sums = new Dictionary<(string Key, object? Value), long>();
        foreach (var (_, tracker) in _trackers)
        {
            var key = (tracker.Tag.Key, tracker.Tag.Value);
            sums[key] = sums.GetValueOrDefault(key) + tracker.Count;
        }

        var measurements = new List<Measurement<long>>(sums.Count);
        foreach (var ((key, value), sum) in sums)
        {
            measurements.Add(new Measurement<long>(sum, new KeyValuePair<string, object?>(key, value)));
        }

        return measurements;
    }
}
