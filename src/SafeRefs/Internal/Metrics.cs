using System.Diagnostics.Metrics;
using SafeRefs.Diagnostics;

namespace SafeRefs.Internal;

/// <summary>
/// The static fallback <see cref="Meter"/> and its instruments. Each area adds its instruments in a partial file
/// <c>Metrics.&lt;Area&gt;.cs</c>; hot paths check <see cref="Instrument.Enabled"/> before recording.
/// </summary>
internal static partial class Metrics
{
    internal static readonly Meter Meter = new(SafeRefsMeter.Name, typeof(Metrics).Assembly.GetName().Version?.ToString());
}
