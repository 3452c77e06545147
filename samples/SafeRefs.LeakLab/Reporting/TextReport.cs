using System.Globalization;
using System.Text;

namespace SafeRefs.LeakLab.Reporting;

/// <summary>
/// The results as plain text for a log (stdout redirected): one line per variant however long its note, no borders,
/// no colours, nothing wrapped to a console width.
/// </summary>
internal static class TextReport
{
    public static string Render(IReadOnlyList<ScenarioResult> results, IReadOnlyList<Scenario> scenarios)
    {
        var text = new StringBuilder();
        foreach (var (result, scenario) in results.Zip(scenarios))
        {
            text.Append(CultureInfo.InvariantCulture, $"{result.Name}: {result.Title}").Append('\n');
            Row(text, "risky", result.Risky);
            Row(text, "SafeRefs", result.Safe);
            text.Append(CultureInfo.InvariantCulture, $"  code (risky):    {OneLine(scenario.RiskyPattern)}").Append('\n');
            text.Append(CultureInfo.InvariantCulture, $"  code (SafeRefs): {OneLine(scenario.SafePattern)}").Append('\n');
            text.Append("  ").Append(result.Verdict).Append("\n\n");
        }

        return text.ToString();
    }

    private static void Row(StringBuilder text, string variant, VariantResult result)
    {
        var row = string.Create(
            CultureInfo.InvariantCulture,
            $"  {variant,-9} heap {Megabytes(result.HeapStartBytes),6} -> {Megabytes(result.HeapEndBytes),6} MB  retained {result.Retained,6} of {result.Tracked,-6}  {OneLine(result.Note ?? "")}");
        text.Append(row.TrimEnd()).Append('\n');
    }

    private static string Megabytes(long bytes) => (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture);

    private static string OneLine(string value) => value.ReplaceLineEndings(" ");
}
