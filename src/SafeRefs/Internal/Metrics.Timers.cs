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
    /// Uncounts one counted item. If its scope was collected meanwhile, the scope's <see cref="LiveCountTracker"/>
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
}
