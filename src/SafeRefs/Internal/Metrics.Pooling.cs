using System.Diagnostics.Metrics;

namespace SafeRefs.Internal;

internal static partial class Metrics
{
    /// <summary>Guarded-pool instruments, nested so that they are created after <see cref="Meter"/>.</summary>
    internal static class Pool
    {
        internal static readonly UpDownCounter<long> LeasesOutstanding = Meter.CreateUpDownCounter<long>(
            "saferefs.pool.leases.outstanding",
            unit: "{lease}",
            description: "Objects rented from SafeRefs guarded pools, while this instrument was listened to, and not yet returned.");

        internal static readonly Counter<long> ListenersDetached = Meter.CreateCounter<long>(
            "saferefs.pool.listeners.detached",
            unit: "{listener}",
            description: "Listeners and registrations that SafeRefs pool leases detached when the lease ended.");

        internal static readonly Counter<long> LeaksSuspected = Meter.CreateCounter<long>(
            "saferefs.pool.leaks_suspected",
            unit: "{object}",
            description: "Pooled objects that came back with more listeners than they had when rented (something attached behind the lease).");

        internal static KeyValuePair<string, object?> TypeTag(Type objectType) => new("pool.object.type", objectType.FullName ?? objectType.Name);
    }
}
