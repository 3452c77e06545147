using System.Diagnostics.Metrics;
using SafeRefs.Internal;

namespace SafeRefs.Diagnostics.Internal;

/// <content>Subscription and listener-budget instruments.</content>
internal sealed partial class Metrics
{
    /// <summary>Gets <c>saferefs.listener.budget.exceeded</c> (tags <c>saferefs.source.type</c>, <c>saferefs.event.name</c>, <c>action</c>).</summary>
    internal Counter<long> ListenersExceeded { get; }

    /// <summary>Records one exceeded listener limit, if someone listens.</summary>
    internal void Exceeded(Type sourceType, string eventName, string action)
    {
        if (ListenersExceeded.Enabled)
        {
            ListenersExceeded.Add(
                1,
                new KeyValuePair<string, object?>(MetricTags.SourceType, TypeNames.Display(sourceType)),
                new KeyValuePair<string, object?>(MetricTags.EventName, eventName),
                new KeyValuePair<string, object?>(MetricTags.ListenerBudgetAction, action));
        }
    }

    private static Counter<long> CreateListenersExceeded(Meter meter) => Publish(meter, "saferefs.listener.budget.exceeded", static (m, n) => m.CreateCounter<long>(
        n,
        unit: "{event}",
        description: "Times a listener budget's limit was exceeded (warned once per source and event, or refused)."));

    /// <summary>
    /// <c>saferefs.subscription.active</c>, on the static fallback meter only: <c>Subscriptions.Subscribe</c> is a
    /// static API with no options, so its subscriptions cannot belong to a factory's meter.
    /// </summary>
    internal static class SubscriptionInstruments
    {
        internal static readonly ObservableUpDownCounter<long> Active = Publish(Shared.Meter, "saferefs.subscription.active", static (m, n) => m.CreateObservableUpDownCounter(
            n,
            static () => Volatile.Read(ref _active) + Subscriptions.WeakLinks.WeakLink.CountedLinks,
            unit: "{subscription}",
            description: "Subscriptions created by SafeRefs.Subscriptions.Subscribe that are not yet disposed."));

        private static readonly Counter<long> CallbackFailures = Publish(Shared.Meter, "saferefs.subscription.callback.failures", static (m, n) => m.CreateCounter<long>(
            n,
            unit: "{failure}",
            description: "User code that SafeRefs called on its own initiative for subscriptions and threw (tag callback: budget report, bag lifetime); logged and dropped."));

        private static long _active;

        /// <summary>
        /// Counts one attachment; every one is paired with one <see cref="Detached"/>. Every attachment is counted,
        /// listened to or not, so that a listener that attaches to a running process (<c>dotnet-counters</c>) reads the
        /// exact number at once: one interlocked increment per subscription. Weak links are not counted here: the
        /// metric adds the number of links registered as counted in their purge registry.
        /// </summary>
        public static void Attached() => Interlocked.Increment(ref _active);

        public static void Detached() => Interlocked.Decrement(ref _active);

        /// <summary>
        /// Counts and logs (through <see cref="Diagnostics.SafeRefsLog"/>, event 1003) a failure of a budget's own
        /// reporting: its logger or a metric listener threw. Never throws.
        /// </summary>
        /// <remarks>Counts first, each step guarded on its own: a throwing logger does not hide the failure from the metric.</remarks>
        public static void ReportFailed(Exception exception, string sourceType, string eventName)
        {
            CountCallbackFailure("budget report");
            try
            {
                Log.ListenerReportFailed(Diagnostics.SafeRefsLog.Logger, exception, sourceType, eventName);
            }
#pragma warning disable CA1031 // The fallback logger is user code too.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        /// <summary>
        /// Counts and logs (through <see cref="Diagnostics.SafeRefsLog"/>, event 1004) the failures of a bag disposed
        /// because its lifetime token was cancelled. Never throws.
        /// </summary>
        /// <remarks>Counts first, each step guarded on its own: a throwing logger does not hide the failure from the metric.</remarks>
        public static void BagDisposeFailed(AggregateException exception)
        {
            CountCallbackFailure("bag lifetime");
            try
            {
                Log.SubscriptionBagDisposeFailed(Diagnostics.SafeRefsLog.Logger, exception, exception.InnerExceptions.Count);
            }
#pragma warning disable CA1031 // The fallback logger is user code too.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        /// <summary>Counts one failure, if someone listens; never throws (a metric listener is user code too).</summary>
        private static void CountCallbackFailure(string callback)
        {
            try
            {
                if (CallbackFailures.Enabled)
                {
                    CallbackFailures.Add(1, new KeyValuePair<string, object?>(MetricTags.CallbackKind, callback));
                }
            }
#pragma warning disable CA1031 // A metric listener is user code too: reporting never throws.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }
}
