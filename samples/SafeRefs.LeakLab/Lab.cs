namespace SafeRefs.LeakLab;

/// <summary>Runs scenarios (both variants each) and collects their results.</summary>
internal static class Lab
{
    public static async Task<ScenarioResult> RunAsync(Scenario scenario, int? iterations, IProgress<double> risky, IProgress<double> safe, CancellationToken cancellationToken)
    {
        var n = iterations ?? scenario.DefaultIterations;
        var riskyResult = await scenario.RunAsync(Variant.Risky, n, risky, cancellationToken).ConfigureAwait(false);
        var safeResult = await scenario.RunAsync(Variant.SafeRefs, n, safe, cancellationToken).ConfigureAwait(false);
        return new ScenarioResult(scenario.Name, scenario.Title, riskyResult, safeResult, scenario.AllowedRetained);
    }
}
