using System.Runtime.CompilerServices;
using SafeRefs.Testing;
using SafeRefs.Timers;

namespace SafeRefs.LeakLab.Scenarios;

/// <summary>setInterval never cleared: a system timer created per use and dropped without Dispose.</summary>
internal sealed class IntervalTimerScenario : StepScenario
{
    private static readonly TimeSpan Period = TimeSpan.FromHours(1);

    public override string Name => "interval";

    public override string Title => "setInterval-style timer never disposed";

    public override string RiskyPattern => "TimeProvider.System.CreateTimer(cb, state, period, period); // dropped";

    public override string SafePattern => "scope.Every(owner, period, static o => o.Tick())";

    protected override IScenarioRun Start(Variant variant) => new Run(variant);

    private sealed class Run(Variant variant) : SyncRun(variant)
    {
        private readonly TimerScope _scope = new();

        public override string? Note => Variant == Variant.Risky ? "dropped system timers fire forever and cannot be stopped" : null;

        public override ValueTask DisposeAsync() => _scope.DisposeAsync();

        [MethodImpl(MethodImplOptions.NoInlining)]
        protected override void Risky(int iteration, LeakTracker tracker)
        {
            var state = new RequestState(iteration);
#pragma warning disable SR1003 // The risky variant shows exactly this leak: a dropped system timer fires forever.
            _ = TimeProvider.System.CreateTimer(static s => ((RequestState)s!).Hit(), state, Period, Period);
#pragma warning restore SR1003
            tracker.Track(state);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        protected override void Safe(int iteration, LeakTracker tracker)
        {
            var state = new RequestState(iteration);
            _scope.Every(state, Period, static s => s.Hit());
            tracker.Track(state);
        }
    }
}
