using System.Diagnostics.Metrics;

namespace SafeRefs.Diagnostics.Internal;

/// <content>Timer-scope instruments.</content>
internal sealed partial class Metrics
{
    /// <summary>Gets the timer-scope instruments of this set.</summary>
    internal TimerInstruments Timers { get; }

    /// <summary>
    /// Timer-scope instruments. <c>saferefs.timers.active</c> is observed: each scope counts every item it starts in its
    /// own tracker, and a collection sums the trackers of the scopes still alive. Tag: <c>scope.name</c>.
    /// </summary>
    internal sealed class TimerInstruments
    {
        private readonly LiveCountSet _activeCounts = new();

        internal TimerInstruments(Meter meter)
        {
            Active = meter.CreateObservableUpDownCounter(
                "saferefs.timers.active",
                _activeCounts.Observe,
                unit: "{timer}",
                description: "Timers, loops, pending delays and CancelAfter sources owned by SafeRefs timer scopes.");
            CallbackFailures = meter.CreateCounter<long>(
                "saferefs.timers.callback.failures",
                unit: "{failure}",
                description: "Timer callbacks and loop bodies of SafeRefs timer scopes that threw; each was logged and the timer kept its schedule.");
        }

        internal ObservableUpDownCounter<long> Active { get; }

        internal Counter<long> CallbackFailures { get; }

        /// <summary>Counts one failed callback (<paramref name="kind"/>: <c>timer</c> or <c>loop</c>) of the scope named <paramref name="scopeName"/>.</summary>
        internal void CallbackFailed(string? scopeName, string kind)
        {
            if (CallbackFailures.Enabled)
            {
                CallbackFailures.Add(1, new("scope.name", scopeName ?? "(unnamed)"), new("callback", kind));
            }
        }

        /// <summary>Registers the tracker of one scope (call once per scope, with the tracker it keeps).</summary>
        internal void Register(object scope, LiveCountTracker tracker) => _activeCounts.Register(scope, tracker);
    }
}
