using System.Diagnostics.Metrics;
using SafeRefs.Timers;

namespace SafeRefs.Internal;

/// <content>Timer-scope instruments.</content>
internal sealed partial class Metrics
{
    /// <summary>Gets the timer-scope instruments of this set.</summary>
    internal TimerInstruments Timers { get; }

    /// <summary>
    /// Counts one timer, loop, pending delay or <c>CancelAfter</c> source created through the scope behind
    /// <paramref name="scope"/>, if its instrument is listened to. The item keeps the result and calls
    /// <see cref="TimerEnded"/> only when it was counted, so the sum never drifts.
    /// </summary>
    internal static bool TimerStarted(WeakReference<TimerScope> scope) => scope.TryGetTarget(out var target) && target.CountTimerStarted();

    /// <summary>
    /// Uncounts one counted item. If its scope was collected meanwhile, the scope's <see cref="TimerScopeMetrics"/>
    /// finalizer subtracts it instead (a collected scope is unreachable before its tracker is finalized).
    /// </summary>
    internal static void TimerEnded(WeakReference<TimerScope> scope)
    {
        if (scope.TryGetTarget(out var target))
        {
            target.CountTimerEnded();
        }
    }

    /// <summary>Timer-scope instruments. Tag: <c>scope.name</c>.</summary>
    internal sealed class TimerInstruments
    {
        internal TimerInstruments(Meter meter)
        {
            Active = meter.CreateUpDownCounter<long>(
                "saferefs.timers.active",
                unit: "{timer}",
                description: "Timers, loops, pending delays and CancelAfter sources owned by SafeRefs timer scopes.");
        }

        internal UpDownCounter<long> Active { get; }
    }

    /// <summary>
    /// The part of <c>saferefs.timers.active</c> one timer scope recorded. Created on the scope's first counted item;
    /// its finalizer subtracts the items still counted when the scope itself is collected, so the sum does not drift
    /// upwards for scopes dropped without <c>Dispose</c>.
    /// </summary>
    internal sealed class TimerScopeMetrics
    {
        private readonly UpDownCounter<long> _active;
        private readonly KeyValuePair<string, object?> _nameTag;
        private long _count;

        internal TimerScopeMetrics(UpDownCounter<long> active, string? scopeName)
        {
            _active = active;
            _nameTag = new KeyValuePair<string, object?>("scope.name", scopeName ?? "(unnamed)");
        }

        ~TimerScopeMetrics()
        {
            var remaining = Interlocked.Exchange(ref _count, 0);
            if (remaining != 0)
            {
                _active.Add(-remaining, _nameTag);
            }
        }

        internal void Started()
        {
            Interlocked.Increment(ref _count);
            _active.Add(1, _nameTag);
        }

        internal void Ended()
        {
            Interlocked.Decrement(ref _count);
            _active.Add(-1, _nameTag);
        }
    }
}
