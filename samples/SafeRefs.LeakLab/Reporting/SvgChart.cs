using System.Globalization;
using System.Net;
using System.Text;

namespace SafeRefs.LeakLab.Reporting;

/// <summary>Small multiples: heap after full GC over iterations, risky (red) vs SafeRefs (green), one panel per scenario.</summary>
internal static class SvgChart
{
    private const int PanelWidth = 420;
    private const int PanelHeight = 240;
    private const int Columns = 2;
    private const int Margin = 48;

    public static string Render(IReadOnlyList<ScenarioResult> results)
    {
        var rows = (results.Count + Columns - 1) / Columns;
        var width = Columns * PanelWidth;
        var height = Math.Max(1, rows) * PanelHeight + 30;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<rect width="{width}" height="{height}" fill="white"/>""").Append('\n');
        svg.Append("""<text x="10" y="18" font-size="14" font-weight="bold">SafeRefs LeakLab: managed heap after full GC (MB) over iterations</text>""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{width - 230}" y="18"><tspan fill="#d62728">&#9632; risky pattern</tspan>  <tspan fill="#2ca02c">&#9632; SafeRefs</tspan></text>""").Append('\n');
        for (var i = 0; i < results.Count; i++)
        {
            Panel(svg, results[i], (i % Columns) * PanelWidth, 30 + (i / Columns) * PanelHeight);
        }

        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static void Panel(StringBuilder svg, ScenarioResult result, int x0, int y0)
    {
        var plotW = PanelWidth - Margin - 16;
        var plotH = PanelHeight - Margin - 24;
        var left = x0 + Margin;
        var top = y0 + 24;
        var all = result.Risky.Samples.Concat(result.Safe.Samples).ToList();
        var maxX = Math.Max(1, all.Max(s => s.Iteration));
        var maxY = Math.Max(1.0, all.Max(s => s.HeapBytes) / 1048576.0) * 1.1;

        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{x0 + 8}" y="{y0 + 14}" font-weight="bold">{WebUtility.HtmlEncode(result.Title)}</text>""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<rect x="{left}" y="{top}" width="{plotW}" height="{plotH}" fill="none" stroke="#999"/>""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{left - 4}" y="{top + 4}" text-anchor="end">{maxY:0.#}</text><text x="{left - 4}" y="{top + plotH}" text-anchor="end">0</text>""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{left + plotW}" y="{top + plotH + 14}" text-anchor="end">{maxX} iterations</text>""").Append('\n');
        Line(svg, result.Risky.Samples, "#d62728", left, top, plotW, plotH, maxX, maxY);
        Line(svg, result.Safe.Samples, "#2ca02c", left, top, plotW, plotH, maxX, maxY);
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{left}" y="{top + plotH + 28}">retained: risky {result.Risky.Retained}, SafeRefs {result.Safe.Retained}</text>""").Append('\n');
    }

    private static void Line(StringBuilder svg, IReadOnlyList<HeapSample> samples, string color, int left, int top, int w, int h, int maxX, double maxY)
    {
        var points = string.Join(' ', samples.Select(s => string.Create(
            CultureInfo.InvariantCulture,
            $"{left + (double)s.Iteration / maxX * w:0.#},{top + h - s.HeapBytes / 1048576.0 / maxY * h:0.#}")));
        svg.Append(CultureInfo.InvariantCulture, $"""<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"/>""").Append('\n');
    }
}
