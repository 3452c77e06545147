using System.Diagnostics.Metrics;

namespace SafeRefs.Diagnostics;

/// <summary>The name of the <see cref="Meter"/> through which every SafeRefs primitive reports its live state.</summary>
/// <remarks>
/// <para>Watch it with <c>dotnet-counters monitor --counters SafeRefs</c> or add it to OpenTelemetry with
/// <c>AddMeter(SafeRefsMeter.Name)</c>.</para>
/// <para><b>Holds</b> nothing; <b>thread safety:</b> constants only.</para>
/// </remarks>
public static class SafeRefsMeter
{
    /// <summary>The meter name, <c>SafeRefs</c>.</summary>
    public const string Name = "SafeRefs";
}
