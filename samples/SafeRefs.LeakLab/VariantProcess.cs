using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SafeRefs.LeakLab.Reporting;

namespace SafeRefs.LeakLab;

/// <summary>
/// Runs one variant of one scenario in a child process of this program: each variant's heap figures start from a
/// fresh process, so a risky variant's leftovers (timers that can never be stopped) never show in the next variant.
/// </summary>
/// <remarks>
/// Protocol on the child's standard output: <c>progress &lt;fraction&gt;</c> lines, then one
/// <c>result &lt;json&gt;</c> line holding the <see cref="VariantResult"/>.
/// </remarks>
internal static class VariantProcess
{
    public const string ChildSwitch = "--child";
    private const string ProgressPrefix = "progress ";
    private const string ResultPrefix = "result ";

    /// <summary>Parent side: starts the child, forwards its progress and returns its result.</summary>
    public static async Task<VariantResult> RunAsync(Scenario scenario, Variant variant, int iterations, IProgress<double> progress, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(iterations);
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // Always `dotnet SafeRefs.LeakLab.dll`: works under `dotnet run`, a published app and a test host alike.
        start.ArgumentList.Add(typeof(VariantProcess).Assembly.Location);
        start.ArgumentList.Add(ChildSwitch);
        start.ArgumentList.Add(scenario.Name);
        start.ArgumentList.Add(variant.ToString());
        start.ArgumentList.Add(iterations.ToString(CultureInfo.InvariantCulture));
        scenario.ConfigureChild(start);

        using var child = Process.Start(start) ?? throw new InvalidOperationException("Could not start the child process.");
        try
        {
            var errors = child.StandardError.ReadToEndAsync(cancellationToken);
            VariantResult? result = null;
            while (await child.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                if (line.StartsWith(ProgressPrefix, StringComparison.Ordinal)
                    && double.TryParse(line.AsSpan(ProgressPrefix.Length), NumberStyles.Float, CultureInfo.InvariantCulture, out var fraction))
                {
                    progress.Report(fraction);
                }
                else if (line.StartsWith(ResultPrefix, StringComparison.Ordinal))
                {
                    result = JsonSerializer.Deserialize(line.AsSpan(ResultPrefix.Length), LabJsonContext.Default.VariantResult);
                }
            }

            await child.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            var stderr = await errors.ConfigureAwait(false);
            return result ?? throw new InvalidOperationException(string.Create(
                CultureInfo.InvariantCulture,
                $"{scenario.Name} ({variant}): the child process exited with code {child.ExitCode} without a result. {stderr}"));
        }
        catch (OperationCanceledException)
        {
            child.Kill(entireProcessTree: true);
            throw;
        }
    }

    /// <summary>Child side: runs the variant in this process and writes the protocol to <paramref name="output"/>.</summary>
    public static async Task<int> RunChildAsync(string scenarioName, string variant, string iterations, TextWriter output)
    {
        var scenario = ScenarioCatalog.All().Single(s => s.Name == scenarioName);
        var result = await scenario.RunAsync(
            Enum.Parse<Variant>(variant),
            int.Parse(iterations, NumberStyles.None, CultureInfo.InvariantCulture),
            new LineProgress(output),
            CancellationToken.None).ConfigureAwait(false);
        await output.WriteLineAsync(ResultPrefix + OneLine(result)).ConfigureAwait(false);
        await output.FlushAsync().ConfigureAwait(false);
        return 0;
    }

    /// <summary>The result as JSON on one line (the report's context indents).</summary>
    private static string OneLine(VariantResult result)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            JsonSerializer.Serialize(writer, result, LabJsonContext.Default.VariantResult);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string DotnetHost()
    {
        var processPath = Environment.ProcessPath;
        if (processPath is not null && Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return processPath;
        }

        return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
    }

    /// <summary>Writes each report as a line at once (not posted like <see cref="Progress{T}"/>), so the parent sees it live.</summary>
    private sealed class LineProgress(TextWriter output) : IProgress<double>
    {
        private readonly Lock _lock = new();

        public void Report(double value)
        {
            lock (_lock)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{ProgressPrefix}{value:0.###}"));
                output.Flush();
            }
        }
    }
}
