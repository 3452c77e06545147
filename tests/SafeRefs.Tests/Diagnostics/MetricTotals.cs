using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace SafeRefs.Tests.Diagnostics;

/// <summary>Sums a collector's measurements that carry one tag value (instruments are process-wide and other test
/// classes record in parallel, so every test filters by a value only it uses).</summary>
internal static class MetricTotals
{
    /// <summary>
    /// The instrument's value for one tag value: the sum of the recorded changes, or for an observed instrument the
    /// total it reports when collected now.
    /// </summary>
    public static long Sum(MetricCollector<long> collector, string tag, string value)
    {
        if (collector.Instrument is { IsObservable: true })
        {
            collector.Clear();
            collector.RecordObservableInstruments();
        }

        return collector.GetMeasurementSnapshot()
            .Where(m => m.Tags.TryGetValue(tag, out var v) && v is string s && s == value)
            .Sum(m => m.Value);
    }

    public static MetricCollector<long> Collect(string instrument) => new(null, "SafeRefs", instrument);
}
