using System.Diagnostics.Metrics;

namespace SafeRefs.Diagnostics.Internal;

/// <content>Timer-scope instruments.</content>
internal sealed partial class Metrics
{
    /// <summary>Gets the timer-scope instruments of this set.</summary>
    internal TimerInstruments Timers { get; }

    /// <summary>
    /// Timer-scope instruments. <c>saferefs.timer.active</c> is observed: each scope counts every item it starts in its
    /// own tracker, and a collection sums the trackers of the scopes still alive. Tag: <c>saferefs.timer.scope.name</c>.
    /// </summary>
    internal sealed class TimerInstruments
    {
        private readonly LiveCountSet _activeCounts = new();

        internal TimerInstruments(Meter meter)
        {
            Active = Publish(meter, "saferefs.timer.active", (m, n) => m.CreateObservableUpDownCounter(
                n,
                _activeCounts.Observe,
                unit: "{timer}",
                description: "Timers, loops, pending delays and CancelAfter sources owned by SafeRefs timer scopes."));
            CallbackFailures = Publish(meter, "saferefs.timer.callback.failures", static (m, n) => m.CreateCounter<long>(
                n,
                unit: "{failure}",
                description: "Timer callbacks and loop bodies of SafeRefs timer scopes that threw; each was logged and the timer kept its schedule."));
        }

        internal ObservableUpDownCounter<long> Active { get; }

        internal Counter<long> CallbackFailures { get; }

        /// <summary>The <c>saferefs.timer.scope.name</c> tag of the scope named <paramref name="scopeName"/>.</summary>
        internal static KeyValuePair<string, object?> ScopeTag(string? scopeName) => new(MetricTags.TimerScopeName, scopeName ?? "(unnamed)");

        /// <summary>Counts one failed callback (<paramref name="kind"/>: <c>timer</c>, <c>loop</c>, <c>clock</c> or <c>error handler</c>) of the scope named <paramref name="scopeName"/>.</summary>
        internal void CallbackFailed(string? scopeName, string kind)
        {
            if (CallbackFailures.Enabled)
            {
                CallbackFailures.Add(1, ScopeTag(scopeName), new(MetricTags.CallbackKind, kind));
            }
        }

        /// <summary>Registers the tracker of one scope (call once per scope, with the tracker it keeps).</summary>
        internal void Register(object scope, LiveCountTracker tracker) => _activeCounts.Register(scope, tracker);
    }
}
