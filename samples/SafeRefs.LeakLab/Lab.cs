namespace SafeRefs.LeakLab;

/// <summary>Runs scenarios (both variants each, each variant in its own child process) and collects their results.</summary>
internal static class Lab
{
    public static async Task<ScenarioResult> RunAsync(Scenario scenario, int? iterations, IProgress<double> risky, IProgress<double> safe, CancellationToken cancellationToken)
    {
        var n = iterations ?? scenario.DefaultIterations;
        var riskyResult = await VariantProcess.RunAsync(scenario, Variant.Risky, n, risky, cancellationToken).ConfigureAwait(false);
        var safeResult = await VariantProcess.RunAsync(scenario, Variant.SafeRefs, n, safe, cancellationToken).ConfigureAwait(false);
        return new ScenarioResult(scenario.Name, scenario.Title, riskyResult, safeResult, scenario.AllowedRetained);
    }
}
