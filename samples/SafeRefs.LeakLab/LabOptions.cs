namespace SafeRefs.LeakLab;

/// <summary>Parsed command line.</summary>
internal sealed record LabOptions(string? Scenario, int? Iterations, string PlotPath, string? JsonPath)
{
    public const string DefaultPlotPath = "leaklab-heap.svg";
}
