using System.Diagnostics;
using System.Globalization;

namespace SafeRefs.LeakLab.Scenarios;

/// <summary>
/// The original experiment: allocate ~10 MB every 40 ms and keep it, in a child process under a GC heap hard limit,
/// until the runtime runs out of memory; against a bounded variant that keeps only the last few buffers.
/// </summary>
internal sealed class HeapLimitScenario : Scenario
{
    public const string ChildSwitch = "--child-heap-limit";
    public const int ChunkBytes = 10 * 1024 * 1024;
    public const int KeptByBoundedVariant = 4;
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(40);

    public HeapLimitScenario(int heapLimitMegabytes = 256) => HeapLimitMegabytes = heapLimitMegabytes;

    public int HeapLimitMegabytes { get; }

    public override string Name => "heap-limit";

    public override string Title => $"Allocate 10 MB every 40 ms under a {HeapLimitMegabytes} MB heap limit";

    public override string RiskyPattern => "buffers.Add(new byte[10 MB]); // kept forever";

    public override string SafePattern => $"ring of the last {KeptByBoundedVariant} buffers (bounded)";

    public override int DefaultIterations => 60;

    public override int AllowedRetained => KeptByBoundedVariant;

    public override async Task<VariantResult> RunAsync(Variant variant, int iterations, IProgress<double> progress, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(iterations);
        var start = ChildStartInfo(variant, iterations);
        using var child = Process.Start(start) ?? throw new InvalidOperationException("Could not start the child process.");
        var errors = child.StandardError.ReadToEndAsync(cancellationToken);
        var samples = new List<HeapSample>();
        var retained = 0;
        string? note = null;
        while (await child.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            var parts = line.Split(' ');
            if (parts is ["step", var step, var heap, var kept])
            {
                var i = int.Parse(step, CultureInfo.InvariantCulture);
                samples.Add(new HeapSample(i, long.Parse(heap, CultureInfo.InvariantCulture)));
                retained = int.Parse(kept, CultureInfo.InvariantCulture);
                progress.Report((double)i / iterations);
            }
            else if (parts is ["oom", var atStep])
            {
                note = $"OutOfMemoryException at step {atStep} ({retained * 10} MB kept)";
            }
        }

        await child.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        _ = await errors.ConfigureAwait(false);
        progress.Report(1);
        return new VariantResult(variant, samples, samples.Count, retained, note ?? $"finished {samples.Count} steps, exit code {child.ExitCode}");
    }

    /// <summary>The child's side: runs in the process started with <see cref="ChildSwitch"/>.</summary>
    public static int RunChild(Variant variant, int iterations, TextWriter output)
    {
        var kept = new List<byte[]>();
        for (var step = 1; step <= iterations; step++)
        {
            try
            {
                var chunk = new byte[ChunkBytes];
                Array.Fill(chunk, (byte)step); // touch the pages so the memory is real
                kept.Add(chunk);
                if (variant == Variant.SafeRefs && kept.Count > KeptByBoundedVariant)
                {
                    kept.RemoveAt(0);
                }
            }
            catch (OutOfMemoryException)
            {
                kept.Clear();
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"oom {step}"));
                return 3;
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step} {GC.GetTotalMemory(forceFullCollection: true)} {kept.Count}"));
            output.Flush();
            Thread.Sleep(Pace); // the experiment's pace, not synchronisation
        }

        return 0;
    }

    private ProcessStartInfo ChildStartInfo(Variant variant, int iterations)
    {
        // Always `dotnet SafeRefs.LeakLab.dll`: works under `dotnet run`, a published app and a test host alike.
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(HeapLimitScenario).Assembly.Location);
        start.ArgumentList.Add(ChildSwitch);
        start.ArgumentList.Add(variant.ToString());
        start.ArgumentList.Add(iterations.ToString(CultureInfo.InvariantCulture));
        start.Environment["DOTNET_GCHeapHardLimit"] = ((long)HeapLimitMegabytes * 1024 * 1024).ToString("X", CultureInfo.InvariantCulture);
        start.Environment["DOTNET_gcServer"] = "0";
        return start;
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
