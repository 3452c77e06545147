using System.Text.Json;
using System.Text.Json.Serialization;

namespace SafeRefs.LeakLab.Reporting;

/// <summary>Machine-readable results (<c>--json</c>).</summary>
internal static class JsonReport
{
    public static string Render(IReadOnlyList<ScenarioResult> results) =>
        JsonSerializer.Serialize(results, LabJsonContext.Default.IReadOnlyListScenarioResult);
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
[JsonSerializable(typeof(IReadOnlyList<ScenarioResult>))]
[JsonSerializable(typeof(VariantResult))]
internal sealed partial class LabJsonContext : JsonSerializerContext;
