using System.Diagnostics;
using System.Text.Json;

namespace SafeRefs.LeakLab.Tests;

/// <summary>The real executable: exit codes, help, the chart and the JSON it writes.</summary>
[Collection(GcCollection.Name)]
public sealed class ProgramTests
{
    [Fact]
    public async Task Main_BadArgument_ExitCode2WithMessage()
    {
        var (exitCode, _, error) = await RunAsync("--iterations", "zero");

        Assert.Equal(2, exitCode);
        Assert.Contains("--iterations must be a whole number", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Main_Help_ExitCode0WithUsage()
    {
        var (exitCode, output, _) = await RunAsync("--help");

        Assert.Equal(0, exitCode);
        Assert.Contains("--scenario <name>", output, StringComparison.Ordinal);
        Assert.Contains("keepalive", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Main_OneScenario_WritesChartAndJson()
    {
        var dir = Directory.CreateTempSubdirectory("leaklab-");
        try
        {
            var plot = Path.Combine(dir.FullName, "heap.svg");
            var json = Path.Combine(dir.FullName, "results.json");

            var (exitCode, output, error) = await RunAsync("--scenario", "cache", "--iterations", "150", "--plot", plot, "--json", json);

            Assert.True(exitCode == 0, output + error);
            Assert.Contains("<polyline", await File.ReadAllTextAsync(plot), StringComparison.Ordinal);
            using var results = JsonDocument.Parse(await File.ReadAllTextAsync(json));
            var cache = results.RootElement[0];
            Assert.Equal("cache", cache.GetProperty("name").GetString());
            Assert.Equal(150, cache.GetProperty("risky").GetProperty("retained").GetInt32());
            Assert.True(cache.GetProperty("fixed").GetBoolean());
            Assert.StartsWith("LEAK FIXED", cache.GetProperty("verdict").GetString(), StringComparison.Ordinal);
            Assert.True(cache.GetProperty("risky").GetProperty("heapEndBytes").GetInt64() > cache.GetProperty("risky").GetProperty("heapStartBytes").GetInt64());
            Assert.True(cache.GetProperty("safe").GetProperty("heapStartBytes").GetInt64() > 0);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Main_OutputRedirected_OneLinePerVariantWithItsNote()
    {
        var dir = Directory.CreateTempSubdirectory("leaklab-");
        try
        {
            var (exitCode, output, error) = await RunAsync("--scenario", "interval", "--iterations", "40", "--plot", Path.Combine(dir.FullName, "heap.svg"));

            Assert.True(exitCode == 0, output + error);
            var lines = output.Split('\n');
            var risky = Assert.Single(lines, l => l.StartsWith("  risky ", StringComparison.Ordinal));
            Assert.Contains("retained", risky, StringComparison.Ordinal);
            Assert.Contains("cannot be stopped", risky, StringComparison.Ordinal);
            Assert.Contains("retained", Assert.Single(lines, l => l.StartsWith("  SafeRefs ", StringComparison.Ordinal)), StringComparison.Ordinal);
            Assert.DoesNotContain("\u2502", output, StringComparison.Ordinal); // no table borders
            Assert.All(lines, l => Assert.DoesNotContain('\u001b', l)); // no escape sequences
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(Cli).Assembly.Location);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
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
}
