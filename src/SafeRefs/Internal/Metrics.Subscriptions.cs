using System.Diagnostics.Metrics;

namespace SafeRefs.Internal;

internal static partial class Metrics
{
    /// <summary>
    /// Subscription instruments, in a nested class so that they are created after <see cref="Meter"/> whatever the
    /// order in which the partial files' static fields are initialized.
    /// </summary>
    internal static class SubscriptionInstruments
    {
        internal static readonly ObservableUpDownCounter<long> Active = Meter.CreateObservableUpDownCounter(
            "saferefs.subscriptions.active",
            static () => Volatile.Read(ref _active),
            unit: "{subscription}",
            description: "Subscriptions created by SafeRefs.Subscriptions.Subscribe, while this instrument was listened to, that are not yet disposed.");

        internal static readonly Counter<long> ListenersExceeded = Meter.CreateCounter<long>(
            "saferefs.listeners.exceeded",
            unit: "{event}",
            description: "Times a listener budget's limit was exceeded (warned once per source and event, or refused).");

        private static long _active;

        /// <summary>
        /// Counts one attachment if someone listens to <see cref="Active"/>; the caller keeps the result and calls
        /// <see cref="Detached"/> only for counted ones, so the hot path costs one flag read when nobody listens.
        /// </summary>
        public static bool TryAttach()
        {
            if (!Active.Enabled)
            {
                return false;
            }

            Interlocked.Increment(ref _active);
            return true;
        }

        public static void Detached() => Interlocked.Decrement(ref _active);

        public static void Exceeded(Type sourceType, string eventName, string action)
        {
            if (ListenersExceeded.Enabled)
            {
                ListenersExceeded.Add(
                    1,
                    new KeyValuePair<string, object?>("source.type", sourceType.FullName),
                    new KeyValuePair<string, object?>("event.name", eventName),
                    new KeyValuePair<string, object?>("action", action));
            }
        }
    }
}
