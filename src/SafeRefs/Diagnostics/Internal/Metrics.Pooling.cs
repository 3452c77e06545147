using System.Diagnostics.Metrics;
using SafeRefs.Internal;

namespace SafeRefs.Diagnostics.Internal;

/// <content>Guarded-pool instruments.</content>
internal sealed partial class Metrics
{
    /// <summary>Gets the guarded-pool instruments of this set.</summary>
    internal PoolInstruments Pool { get; }

    /// <summary>
    /// Guarded-pool instruments. <c>saferefs.pool.lease.outstanding</c> is observed: a collection reads the rented and
    /// returned counters of every live pool, so it is exact whenever a listener attaches. Tag: <c>saferefs.pool.object.type</c>.
    /// </summary>
    internal sealed class PoolInstruments
    {
        private readonly LiveCountSet _outstanding = new();

        internal PoolInstruments(Meter meter)
        {
            LeasesOutstanding = meter.CreateObservableUpDownCounter(
                "saferefs.pool.lease.outstanding",
                _outstanding.Observe,
                unit: "{lease}",
                description: "Objects rented from SafeRefs guarded pools and not yet returned.");
            ListenersDetached = meter.CreateCounter<long>(
                "saferefs.pool.listener.detached",
                unit: "{listener}",
                description: "Listeners and registrations that SafeRefs pool leases detached when the lease ended.");
            LeaksSuspected = meter.CreateCounter<long>(
                "saferefs.pool.leak.suspected",
                unit: "{object}",
                description: "Pooled objects that came back with more listeners than they had when rented (something attached behind the lease).");
        }

        internal ObservableUpDownCounter<long> LeasesOutstanding { get; }

        internal Counter<long> ListenersDetached { get; }

        internal Counter<long> LeaksSuspected { get; }

        internal static KeyValuePair<string, object?> TypeTag(Type objectType) => new(MetricTags.PoolObjectType, TypeNames.Display(objectType));

        /// <summary>Registers the outstanding-lease count of one pool, observed while the pool lives (once per pool).</summary>
        internal void RegisterOutstanding(object pool, ObservedCount count) => _outstanding.Register(pool, count);
    }
}
