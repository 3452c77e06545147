using System.Diagnostics.Metrics;

namespace SafeRefs.Diagnostics.Internal;

/// <content>Weak-event instruments.</content>
internal sealed partial class Metrics
{
    /// <summary>Gets the weak-event instruments of this set.</summary>
    internal WeakEventInstruments WeakEvents { get; }

    /// <summary>
    /// Weak-event instruments. Raising an event records nothing; adding, removing and purging handlers check
    /// <see cref="Instrument.Enabled"/> first, except the handler count: <c>saferefs.weak_event.handler.count</c> is
    /// observed, each event reports the handlers it holds (listened to or not, so that a listener attaching late reads
    /// the exact number), and a collection sums the counts of the events still alive. Tag:
    /// <c>saferefs.event.name</c>.
    /// </summary>
    internal sealed class WeakEventInstruments
    {
        private readonly LiveCountSet _handlerCounts = new();

        internal WeakEventInstruments(Meter meter)
        {
            Handlers = Publish(meter, "saferefs.weak_event.handler.count", (m, n) => m.CreateObservableUpDownCounter(
                n,
                _handlerCounts.Observe,
                unit: "{handler}",
                description: "Handlers attached to SafeRefs weak events and not yet removed, disposed or purged."));
            Purged = Publish(meter, "saferefs.weak_event.handler.purged", static (m, n) => m.CreateCounter<long>(
                n,
                unit: "{handler}",
                description: "Handlers dropped from SafeRefs weak events because their target or owner was collected."));
        }

        internal ObservableUpDownCounter<long> Handlers { get; }

        internal Counter<long> Purged { get; }

        internal static KeyValuePair<string, object?> NameTag(string? eventName) => new(MetricTags.EventName, eventName ?? "(unnamed)");

        /// <summary>Registers the handler count of one event's list, observed while the list lives (call once per list).</summary>
        internal void TrackHandlers(object list, ObservedCount count) => _handlerCounts.Register(list, count);
    }
}
