using System.Diagnostics.Metrics;

namespace SafeRefs.Internal;

internal static partial class Metrics
{
    /// <summary>
    /// Timers, loops, pending delays and <c>CancelAfter</c> sources owned by timer scopes. Each item records +1 only
    /// if the instrument is enabled when it is created, and -1 only if it recorded +1, so the sum never drifts.
    /// </summary>
    internal static readonly UpDownCounter<long> TimersActive = Meter.CreateUpDownCounter<long>(
        "saferefs.timers.active",
        unit: "{timer}",
        description: "Timers, loops, pending delays and CancelAfter sources owned by SafeRefs timer scopes.");
}
