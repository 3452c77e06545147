using System.Diagnostics.Metrics;

namespace SafeRefs.Diagnostics;

/// <summary>The name of the <see cref="Meter"/> through which every SafeRefs primitive reports its live state.</summary>
/// <remarks>
/// <para>Watch it with <c>dotnet-counters monitor --counters SafeRefs</c> or add it to OpenTelemetry with
/// <c>AddMeter(SafeRefsMeter.Name)</c>. Primitives record through the meter of this name that their
/// <c>MeterFactory</c> option's <see cref="IMeterFactory"/> creates (container-built caches and pools use the
/// container's factory), or through a process-wide static meter of this name when no factory is given.</para>
/// <para><b>Holds</b> nothing but its name and version; <b>thread safety:</b> immutable.</para>
/// </remarks>
public static class SafeRefsMeter
{
    /// <summary>The meter name, <c>SafeRefs</c>.</summary>
    public const string Name = "SafeRefs";

    /// <summary>
    /// Gets the meter version: the version of the SafeRefs assembly. Every SafeRefs package asks its
    /// <see cref="IMeterFactory"/> for a meter of this name and this version, so a factory that shares meters of the same
    /// name and version (the default one does) gives them all one meter.
    /// </summary>
    public static string? Version { get; } = typeof(SafeRefsMeter).Assembly.GetName().Version?.ToString();
}
