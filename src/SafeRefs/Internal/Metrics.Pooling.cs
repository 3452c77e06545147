using System.Diagnostics.Metrics;

namespace SafeRefs.Internal;

/// <content>Guarded-pool instruments.</content>
internal sealed partial class Metrics
{
    /// <summary>Gets the guarded-pool instruments of this set.</summary>
    internal PoolInstruments Pool { get; }

    /// <summary>Guarded-pool instruments. Tag: <c>pool.object.type</c>.</summary>
    internal sealed class PoolInstruments
    {
        internal PoolInstruments(Meter meter)
        {
            LeasesOutstanding = meter.CreateUpDownCounter<long>(
                "saferefs.pool.leases.outstanding",
                unit: "{lease}",
                description: "Objects rented from SafeRefs guarded pools, while this instrument was listened to, and not yet returned.");
            ListenersDetached = meter.CreateCounter<long>(
                "saferefs.pool.listeners.detached",
                unit: "{listener}",
                description: "Listeners and registrations that SafeRefs pool leases detached when the lease ended.");
            LeaksSuspected = meter.CreateCounter<long>(
                "saferefs.pool.leaks_suspected",
                unit: "{object}",
                description: "Pooled objects that came back with more listeners than they had when rented (something attached behind the lease).");
        }

        internal UpDownCounter<long> LeasesOutstanding { get; }

        internal Counter<long> ListenersDetached { get; }

        internal Counter<long> LeaksSuspected { get; }

        internal static KeyValuePair<string, object?> TypeTag(Type objectType) => new("pool.object.type", TypeNames.Display(objectType));
    }
}
