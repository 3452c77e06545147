using System.Diagnostics.Metrics;
using SafeRefs.Diagnostics;

namespace SafeRefs.Internal;

/// <summary>
/// The static fallback <see cref="Meter"/> and its instruments. Each area adds its instruments in a partial file
/// <c>Metrics.&lt;Area&gt;.cs</c>; hot paths check <see cref="Instrument.Enabled"/> before recording.
/// </summary>
internal static partial class Metrics
{
    /// <summary>
    /// The meter. A property over a holder class, so that instruments created by field initialisers in other partial
    /// files never see it uninitialised: the order of static initialisers across partial files is not defined.
    /// </summary>
    internal static Meter Meter => MeterHolder.Instance;

    private static class MeterHolder
    {
        internal static readonly Meter Instance = new(SafeRefsMeter.Name, typeof(Metrics).Assembly.GetName().Version?.ToString());
    }
}
