using System.Diagnostics.Metrics;
using SafeRefs.Internal;

namespace SafeRefs.Diagnostics.Internal;

/// <content>Failures of the work SafeRefs does on its own initiative for weak subscriptions and weak events.</content>
internal sealed partial class Metrics
{
    /// <summary>
    /// <c>saferefs.subscription.detach.failures</c> and <c>saferefs.weak_event.sweep.failures</c>, on the static fallback
    /// meter only: they count failures of static APIs and process-wide sweeps, which belong to no factory.
    /// </summary>
    internal static class BackgroundFailures
    {
        private static readonly Counter<long> DetachFailed = Publish(Shared.Meter, "saferefs.subscription.detach.failures", static (m, n) => m.CreateCounter<long>(
            n,
            unit: "{subscription}",
            description: "Weak subscriptions whose detach (a remove accessor or a post to their synchronization context) threw during a purge, a raise or a dispose; they were dropped anyway."));

        private static readonly Counter<long> SweepFailed = Publish(Shared.Meter, "saferefs.weak_event.sweep.failures", static (m, n) => m.CreateCounter<long>(
            n,
            unit: "{event}",
            description: "Weak events whose compaction threw (a metric listener, in a gen-2 sweep, a raise or an add); the caller or the sweep went on."));

        /// <summary>Counts and logs a failed detach; never throws.</summary>
        /// <remarks>Counts first, each step guarded on its own: a throwing logger does not hide the failure from the metric.</remarks>
        /// <param name="exception">The failure.</param>
        /// <param name="sourceType">The source's type.</param>
        /// <param name="eventName">The event's name.</param>
        /// <param name="trigger">What detached (a purge, a raise, a dispose).</param>
        /// <param name="rethrown">Whether the caller (an explicit <c>Dispose</c>) also gets the exception.</param>
        internal static void ReportDetachFailed(Exception exception, Type sourceType, string eventName, string trigger, bool rethrown = false)
        {
            var typeName = TypeNames.Display(sourceType);
            try
            {
                if (DetachFailed.Enabled)
                {
                    DetachFailed.Add(1, new(MetricTags.SourceType, typeName), new(MetricTags.EventName, eventName));
                }
            }
#pragma warning disable CA1031 // A metric listener is user code too: reporting must not fail the purge.
            catch (Exception)
#pragma warning restore CA1031
            {
            }

            try
            {
                Log.WeakSubscriptionDetachFailed(
                    Diagnostics.SafeRefsLog.Logger,
                    exception,
                    typeName,
                    eventName,
                    trigger,
                    rethrown ? "the subscription was dropped, and the exception is rethrown to the caller" : "the subscription was dropped anyway");
            }
#pragma warning disable CA1031 // A logger is user code too: reporting must not fail the purge.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        /// <summary>Counts and logs a failed sweep of one weak event; never throws.</summary>
        /// <remarks>Counts first, each step guarded on its own: a throwing logger does not hide the failure from the metric.</remarks>
        internal static void ReportSweepFailed(Exception exception, string? eventName)
        {
            try
            {
                if (SweepFailed.Enabled)
                {
                    SweepFailed.Add(1, WeakEventInstruments.NameTag(eventName));
                }
            }
#pragma warning disable CA1031 // A metric listener is user code too: reporting must not fail the sweep.
            catch (Exception)
#pragma warning restore CA1031
            {
            }

            try
            {
                Log.WeakEventSweepFailed(Diagnostics.SafeRefsLog.Logger, exception, eventName ?? "(unnamed)");
            }
#pragma warning disable CA1031 // A logger is user code too: reporting must not fail the sweep.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }
}
