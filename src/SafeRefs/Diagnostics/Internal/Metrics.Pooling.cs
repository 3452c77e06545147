using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using SafeRefs.Internal;

namespace SafeRefs.Diagnostics.Internal;

/// <content>Guarded-pool instruments.</content>
internal sealed partial class Metrics
{
    /// <summary>Gets the guarded-pool instruments of this set.</summary>
    internal PoolInstruments Pool { get; }

    /// <summary>
    /// Guarded-pool instruments and the pool's reporting. <c>saferefs.pool.lease.outstanding</c> is observed: a
    /// collection reads the rented and returned counters of every live pool, so it is exact whenever a listener
    /// attaches. Tag: <c>saferefs.pool.object.type</c>.
    /// </summary>
    /// <remarks>
    /// The pool reports only through the <c>Report…</c>/<c>Count…</c> methods here: loggers and metric listeners are
    /// user code, and none of these methods throws, so a broken logger can neither stop a lease's end (its detaches,
    /// its timers, the return of its object) nor fail a caller. Each counts before it logs, so a throwing logger does
    /// not hide the failure from the metric.
    /// </remarks>
    internal sealed class PoolInstruments
    {
        private readonly LiveCountSet _outstanding = new();
        private readonly Metrics _owner;

        internal PoolInstruments(Meter meter, Metrics owner)
        {
            _owner = owner;
            LeasesOutstanding = Publish(meter, "saferefs.pool.lease.outstanding", (m, n) => m.CreateObservableUpDownCounter(
                n,
                _outstanding.Observe,
                unit: "{lease}",
                description: "Objects rented from SafeRefs guarded pools and not yet returned."));
            ListenersDetached = Publish(meter, "saferefs.pool.listener.detached", static (m, n) => m.CreateCounter<long>(
                n,
                unit: "{listener}",
                description: "Listeners and registrations that SafeRefs pool leases detached when the lease ended."));
            LeaksSuspected = Publish(meter, "saferefs.pool.leak.suspected", static (m, n) => m.CreateCounter<long>(
                n,
                unit: "{object}",
                description: "Pooled objects that came back with more listeners than they had when rented (something attached behind the lease)."));
            CallbackFailures = Publish(meter, "saferefs.pool.callback.failures", static (m, n) => m.CreateCounter<long>(
                n,
                unit: "{failure}",
                description: "User code a SafeRefs guarded pool called on its own initiative that threw (tag saferefs.callback.kind: detach, event handler, return); logged and dropped."));
        }

        internal ObservableUpDownCounter<long> LeasesOutstanding { get; }

        internal Counter<long> ListenersDetached { get; }

        internal Counter<long> LeaksSuspected { get; }

        internal Counter<long> CallbackFailures { get; }

        internal static KeyValuePair<string, object?> TypeTag(Type objectType) => new(MetricTags.PoolObjectType, TypeNames.Display(objectType));

        /// <summary>Registers the outstanding-lease count of one pool, observed while the pool lives (once per pool).</summary>
        internal void RegisterOutstanding(object pool, ObservedCount count) => _outstanding.Register(pool, count);

        /// <summary>Counts the listeners a lease detached; never throws.</summary>
        internal void CountDetached(long detached, KeyValuePair<string, object?> typeTag)
        {
            try
            {
                if (ListenersDetached.Enabled)
                {
                    ListenersDetached.Add(detached, typeTag);
                }
            }
#pragma warning disable CA1031 // A metric listener is user code: it must not stop the lease's end.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        /// <summary>Logs (1302) and counts (<c>detach</c>) a tracked listener whose detach threw; never throws.</summary>
        internal void ReportDetachFailed(ILogger logger, Exception exception, Type objectType, KeyValuePair<string, object?> typeTag)
        {
            try
            {
                CountCallbackFailure(typeTag, "detach");
                Log.LeaseDetachFailed(logger, exception, objectType.Name);
            }
#pragma warning disable CA1031 // A logger or metric listener is user code: it must not stop the other detaches.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        /// <summary>Logs (1304) and counts (<c>return</c>) an inner pool's <c>Return</c> that threw on the thread of the last
        /// callback of an ended lease; never throws.</summary>
        internal void ReportReturnFailed(ILogger logger, Exception exception, Type objectType, KeyValuePair<string, object?> typeTag)
        {
            try
            {
                CountCallbackFailure(typeTag, "return");
                Log.LeaseReturnFailed(logger, exception, objectType.Name);
            }
#pragma warning disable CA1031 // A logger or metric listener is user code: it must not fail the callback's caller.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        /// <summary>Logs (1303) and counts (<c>event handler</c>) a handler of a pool event that threw; never throws.</summary>
        internal void ReportHandlerFailed(ILogger logger, Exception exception, string eventName, KeyValuePair<string, object?> typeTag)
        {
            try
            {
                CountCallbackFailure(typeTag, "event handler");
                Log.PoolEventHandlerFailed(logger, exception, eventName);
            }
#pragma warning disable CA1031 // A logger or metric listener is user code: it must not fail the pool's caller.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        /// <summary>Counts and logs (1301) an object that came back with more listeners than when rented; never throws.</summary>
        internal void ReportAttachedBehind(ILogger logger, KeyValuePair<string, object?> typeTag, int countAtRent, int countAtReturn, bool discarded)
        {
            try
            {
                if (LeaksSuspected.Enabled)
                {
                    LeaksSuspected.Add(1, typeTag);
                }

                Log.LeaseAttachedBehind(logger, (string)typeTag.Value!, countAtRent, countAtReturn, discarded);
            }
#pragma warning disable CA1031 // A logger or metric listener is user code: it must not stop the lease's end.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        /// <summary>
        /// Counts an exceeded per-lease listener limit and, when <paramref name="logger"/> is given (a warning), logs
        /// it (1300); never throws, so a refusal still throws its own exception.
        /// </summary>
        internal void ReportLimitExceeded(ILogger? logger, Type sourceType, string eventName, int count, int maxListeners)
        {
            try
            {
                _owner.Exceeded(sourceType, eventName, logger is null ? "throw" : "warn");
                if (logger is not null)
                {
                    Log.LeaseListenerLeakSuspected(logger, TypeNames.Display(sourceType), eventName, count, maxListeners);
                }
            }
#pragma warning disable CA1031 // A logger or metric listener is user code: it must not fail the caller of On.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        private void CountCallbackFailure(KeyValuePair<string, object?> typeTag, string kind)
        {
            if (CallbackFailures.Enabled)
            {
                CallbackFailures.Add(1, typeTag, new KeyValuePair<string, object?>(MetricTags.CallbackKind, kind));
            }
        }
    }
}
