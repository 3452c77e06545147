using SafeRefs.Diagnostics.Internal;

namespace SafeRefs.Timers.Internal;

/// <summary>
/// Counts the timers, loops, pending delays and <c>CancelAfter</c> sources a scope starts, in the scope's own
/// <c>saferefs.timer.active</c> tracker (which <see cref="TimerScope.ActiveCount"/> reads too), reached through a weak
/// reference: an item must not keep its scope alive.
/// </summary>
internal static class TimerCount
{
    /// <summary>
    /// Counts one item created through the scope behind <paramref name="scope"/> (listened to or not, so that a listener
    /// attaching late reads the exact number) and returns the tracker the item lowers when it ends, or
    /// <see langword="null"/> if the scope was collected. The tracker holds no reference to its scope, and a collected
    /// scope's tracker is no longer observed, so items may keep it.
    /// </summary>
    internal static LiveCountTracker? Started(WeakReference<TimerScope> scope) => scope.TryGetTarget(out var target) ? target.CountTimerStarted().Count : null;
}
