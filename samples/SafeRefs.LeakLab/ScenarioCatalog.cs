using SafeRefs.LeakLab.Scenarios;

namespace SafeRefs.LeakLab;

/// <summary>Every scenario, in the order the lab runs them.</summary>
internal static class ScenarioCatalog
{
    public static IReadOnlyList<Scenario> All() =>
    [
        new ListenersScenario(),
        new ClosureScenario(),
        new KeepAliveScenario(),

        new IntervalTimerScenario(),
        new DelayChainScenario(),
        new CacheScenario(),
        new PileUpScenario(),
        new HeapLimitScenario(),
    ];
}
