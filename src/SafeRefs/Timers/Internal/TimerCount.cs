namespace SafeRefs.Timers.Internal;

/// <summary>
/// Counts the timers, loops, pending delays and <c>CancelAfter</c> sources a scope starts, in the scope's own
/// <c>saferefs.timer.active</c> tracker, through a weak reference (an item must not keep its scope alive).
/// </summary>
internal static class TimerCount
{
    /// <summary>
    /// Counts one item created through the scope behind <paramref name="scope"/> (listened to or not, so that a listener
    /// attaching late reads the exact number). The item keeps the result and calls <see cref="Ended"/> only when it was
    /// counted, so the sum never drifts.
    /// </summary>
    internal static bool Started(WeakReference<TimerScope> scope) => scope.TryGetTarget(out var target) && target.CountTimerStarted();

    /// <summary>
    /// Uncounts one counted item. If its scope was collected meanwhile, there is nothing to do: a collected scope's
    /// tracker is no longer observed.
    /// </summary>
    internal static void Ended(WeakReference<TimerScope> scope)
    {
        if (scope.TryGetTarget(out var target))
        {
            target.CountTimerEnded();
        }
    }
}
