using System.Diagnostics.Metrics;

namespace SafeRefs.Internal;

/// <content>Weak-event instruments.</content>
internal sealed partial class Metrics
{
    /// <summary>Gets the weak-event instruments of this set.</summary>
    internal WeakEventInstruments WeakEvents { get; }

    /// <summary>
    /// Weak-event instruments. Raising an event records nothing; adding, removing and purging handlers check
    /// <see cref="Instrument.Enabled"/> first. Tag: <c>event.name</c>.
    /// </summary>
    internal sealed class WeakEventInstruments
    {
        internal WeakEventInstruments(Meter meter)
        {
            Handlers = meter.CreateUpDownCounter<long>(
                "saferefs.weak_events.handlers",
                unit: "{handler}",
                description: "Handlers attached to SafeRefs weak events, while this instrument was listened to, and not yet removed, disposed or purged.");
            Purged = meter.CreateCounter<long>(
                "saferefs.weak_events.purged",
                unit: "{handler}",
                description: "Handlers dropped from SafeRefs weak events because their target or owner was collected.");
        }

        internal UpDownCounter<long> Handlers { get; }

        internal Counter<long> Purged { get; }

        internal static KeyValuePair<string, object?> NameTag(string? eventName) => new("event.name", eventName ?? "(unnamed)");
    }
}
