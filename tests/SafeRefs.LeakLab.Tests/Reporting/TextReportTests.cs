using SafeRefs.LeakLab.Reporting;

namespace SafeRefs.LeakLab.Tests.Reporting;

public sealed class TextReportTests
{
    [Fact]
    public void Render_LongNote_OneLinePerVariant()
    {
        var scenario = ScenarioCatalog.All().Single(s => s.Name == "interval");
        var note = string.Join(' ', Enumerable.Repeat("dropped system timers fire forever and cannot be stopped", 8));
        var risky = new VariantResult(Variant.Risky, [new HeapSample(0, 1 << 20), new HeapSample(10, 3 << 20)], 10, 10, note);
        var safe = new VariantResult(Variant.SafeRefs, [new HeapSample(0, 1 << 20), new HeapSample(10, 1 << 20)], 10, 0);
        var result = new ScenarioResult(scenario.Name, scenario.Title, risky, safe);

        var lines = TextReport.Render([result], [scenario]).Split('\n');

        var riskyRow = Assert.Single(lines, l => l.StartsWith("  risky ", StringComparison.Ordinal));
        Assert.Contains("heap    1.0 ->    3.0 MB", riskyRow, StringComparison.Ordinal);
        Assert.Contains("retained     10 of 10", riskyRow, StringComparison.Ordinal);
        Assert.EndsWith(note, riskyRow, StringComparison.Ordinal);
        var safeRow = Assert.Single(lines, l => l.StartsWith("  SafeRefs ", StringComparison.Ordinal));
        Assert.Contains("retained      0 of 10", safeRow, StringComparison.Ordinal);
        Assert.Equal(safeRow.TrimEnd(), safeRow); // no padding left behind when there is no note
        Assert.Equal(7, lines.Length - 1); // title, two rows, two code lines, verdict, blank line
    }
}
