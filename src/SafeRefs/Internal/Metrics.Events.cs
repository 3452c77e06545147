using System.Diagnostics.Metrics;

namespace SafeRefs.Internal;

internal static partial class Metrics
{
    /// <summary>
    /// Weak-event instruments, nested so that they are created after <see cref="Meter"/>. Raising an event records
    /// nothing; adding, removing and purging handlers check <see cref="Instrument.Enabled"/> first.
    /// </summary>
    internal static class WeakEvents
    {
        internal static readonly UpDownCounter<long> Handlers = Meter.CreateUpDownCounter<long>(
            "saferefs.weak_events.handlers",
            unit: "{handler}",
            description: "Handlers attached to SafeRefs weak events, while this instrument was listened to, and not yet removed, disposed or purged.");

        internal static readonly Counter<long> Purged = Meter.CreateCounter<long>(
            "saferefs.weak_events.purged",
            unit: "{handler}",
            description: "Handlers dropped from SafeRefs weak events because their target or owner was collected.");

        internal static KeyValuePair<string, object?> NameTag(string? eventName) => new("event.name", eventName ?? "(unnamed)");
    }
}
