using System.Globalization;
using SafeRefs.LeakLab;
using SafeRefs.LeakLab.Reporting;
using Spectre.Console;

// Each variant re-enters here in a child process of its own (VariantProcess).
if (args is [VariantProcess.ChildSwitch, var childScenario, var childVariant, var childIterations])
{
    return await VariantProcess.RunChildAsync(childScenario, childVariant, childIterations, Console.Out);
}

var scenarios = ScenarioCatalog.All();
var names = scenarios.Select(s => s.Name).ToArray();
var (options, error, help) = Cli.Parse(args, names);
if (help)
{
    Console.WriteLine(Cli.Usage(names));
    return 0;
}

if (options is null)
{
    Console.Error.WriteLine(error);
    return Cli.UsageError;
}

const string Intro = "each leak cause run twice — the risky pattern, then its SafeRefs replacement — each variant in a process of its own.";
var selected = options.Scenario is null ? scenarios : scenarios.Where(s => s.Name == options.Scenario).ToList();
var results = new List<ScenarioResult>();

// A log (stdout redirected) gets plain lines: no progress bars, and no table wrapped to a guessed console width.
var plain = Console.IsOutputRedirected;
if (plain)
{
    Console.WriteLine("SafeRefs LeakLab: " + Intro);
    foreach (var scenario in selected)
    {
        Console.WriteLine($"running {scenario.Name}");
        results.Add(await Lab.RunAsync(scenario, options.Iterations, new Progress<double>(), new Progress<double>(), CancellationToken.None));
    }

    Console.WriteLine();
    Console.Write(TextReport.Render(results, selected));
}
else
{
    AnsiConsole.MarkupLine("[bold]SafeRefs LeakLab[/]: " + Markup.Escape(Intro));
    await AnsiConsole.Progress()
        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
        .StartAsync(async ctx =>
        {
            foreach (var scenario in selected)
            {
                var risky = ctx.AddTask($"{scenario.Name}: risky");
                var safe = ctx.AddTask($"{scenario.Name}: SafeRefs");
                var result = await Lab.RunAsync(
                    scenario,
                    options.Iterations,
                    new Progress<double>(p => risky.Value = p * 100),
                    new Progress<double>(p => safe.Value = p * 100),
                    CancellationToken.None);
                risky.Value = 100;
                safe.Value = 100;
                results.Add(result);
            }
        });

    var table = new Table().Border(TableBorder.Rounded)
        .AddColumns("Scenario", "Variant", "Heap start (MB)", "Heap end (MB)", "Retained", "Note");
    foreach (var result in results)
    {
        AddRow(table, result.Name, "risky", result.Risky);
        AddRow(table, "", "SafeRefs", result.Safe);
    }

    AnsiConsole.Write(table);
    foreach (var (result, scenario) in results.Zip(selected))
    {
        var color = result.Fixed ? "green" : "red";
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(scenario.Title)}[/]");
        AnsiConsole.MarkupLine($"  risky:    {Markup.Escape(scenario.RiskyPattern)}");
        AnsiConsole.MarkupLine($"  SafeRefs: {Markup.Escape(scenario.SafePattern)}");
        AnsiConsole.MarkupLine($"  [{color}]{Markup.Escape(result.Verdict)}[/]");
    }
}

var plotPath = Path.GetFullPath(options.PlotPath);
Directory.CreateDirectory(Path.GetDirectoryName(plotPath)!);
await File.WriteAllTextAsync(plotPath, SvgChart.Render(results));
WriteFileLine("Heap chart", plotPath);
if (options.JsonPath is not null)
{
    var jsonPath = Path.GetFullPath(options.JsonPath);
    Directory.CreateDirectory(Path.GetDirectoryName(jsonPath)!);
    await File.WriteAllTextAsync(jsonPath, JsonReport.Render(results));
    WriteFileLine("JSON results", jsonPath);
}

return results.TrueForAll(r => r.Fixed) ? 0 : 1;

void WriteFileLine(string label, string path)
{
    if (plain)
    {
        Console.WriteLine($"{label}: {path}");
    }
    else
    {
        AnsiConsole.MarkupLine($"{label}: [link]{Markup.Escape(path)}[/]");
    }
}

static void AddRow(Table table, string name, string variant, VariantResult result) =>
    table.AddRow(
        Markup.Escape(name),
        variant,
        (result.HeapStartBytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture),
        (result.HeapEndBytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture),
        result.Retained.ToString(CultureInfo.InvariantCulture),
        Markup.Escape(result.Note ?? ""));
