using SafeRefs.Diagnostics.Internal;

namespace SafeRefs.Timers.Internal;

/// <summary>
/// What every timer of one <see cref="TimerScope"/> needs of its scope: the scope's weak self-reference, its clock and
/// its count of active items (<c>saferefs.timer.active</c>, which <see cref="TimerScope.ActiveCount"/> reads). One per
/// scope, created with the first counted item, so that a timer keeps one reference instead of three (a smaller object
/// and fewer stores when it is created).
/// </summary>
/// <remarks>Holds the scope only weakly, so the timers, which the runtime's timer queue roots, do not keep it alive.</remarks>
internal sealed class ScopeShared(WeakReference<TimerScope> scope, TimeProvider timeProvider, LiveCountTracker count)
{
    /// <summary>Gets the scope's weak self-reference.</summary>
    public WeakReference<TimerScope> Scope { get; } = scope;

    /// <summary>Gets the scope's clock.</summary>
    public TimeProvider TimeProvider { get; } = timeProvider;

    /// <summary>Gets the scope's count of active items; an item lowers it once when it ends.</summary>
    public LiveCountTracker Count { get; } = count;
}
