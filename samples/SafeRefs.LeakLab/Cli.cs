using System.Globalization;

namespace SafeRefs.LeakLab;

/// <summary>Command-line parsing: options, or a clear error (exit code 2), or help.</summary>
internal static class Cli
{
    public const int UsageError = 2;

    public static string Usage(IEnumerable<string> scenarioNames) => $"""
        SafeRefs LeakLab: each leak cause run twice, the risky .NET pattern and its SafeRefs replacement.

        Usage: dotnet run --project samples/SafeRefs.LeakLab -c Release -- [options]

        Options:
          --scenario <name>   run one scenario: {string.Join(", ", scenarioNames)}
          --iterations <n>    iterations per variant (default: each scenario's own)
          --plot <path>       where to write the heap chart (SVG; default {LabOptions.DefaultPlotPath})
          --json <path>       also write machine-readable results
          --help              show this help
        """;

    /// <summary>Parses <paramref name="args"/>; returns null options with an error message, or with help requested.</summary>
    public static (LabOptions? Options, string? Error, bool Help) Parse(IReadOnlyList<string> args, IReadOnlyCollection<string> scenarioNames)
    {
        string? scenario = null;
        int? iterations = null;
        var plot = LabOptions.DefaultPlotPath;
        string? json = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "--help" or "-h" or "-?")
            {
                return (null, null, true);
            }

            if (arg is not ("--scenario" or "--iterations" or "--plot" or "--json"))
            {
                return (null, $"Unknown argument '{arg}'. Run with --help to see the options.", false);
            }

            if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                return (null, $"Option {arg} needs a value.", false);
            }

            var value = args[++i];
            switch (arg)
            {
                case "--scenario":
                    if (!scenarioNames.Contains(value, StringComparer.OrdinalIgnoreCase))
                    {
                        return (null, $"Unknown scenario '{value}'. Known scenarios: {string.Join(", ", scenarioNames)}.", false);
                    }

                    scenario = value.ToLowerInvariant();
                    break;
                case "--iterations":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
                    {
                        return (null, $"--iterations must be a whole number of at least 1, not '{value}'.", false);
                    }

                    iterations = n;
                    break;
                case "--plot":
                    plot = value;
                    break;
                default:
                    json = value;
                    break;
            }
        }

        return (new LabOptions(scenario, iterations, plot, json), null, false);
    }
}
