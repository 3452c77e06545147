using System.Diagnostics;
using System.Globalization;

namespace SafeRefs.LeakLab.Scenarios;

/// <summary>
/// The original experiment: allocate ~10 MB every 40 ms and keep it, in the child process under a GC heap hard limit,
/// until the runtime runs out of memory; against a bounded variant that keeps only the last few buffers.
/// </summary>
internal sealed class HeapLimitScenario : Scenario
{
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

    /// <summary>The limit applies to the child process that runs each variant.</summary>
    public override void ConfigureChild(ProcessStartInfo start)
    {
        ArgumentNullException.ThrowIfNull(start);
        start.Environment["DOTNET_GCHeapHardLimit"] = ((long)HeapLimitMegabytes * 1024 * 1024).ToString("X", CultureInfo.InvariantCulture);
        start.Environment["DOTNET_gcServer"] = "0";
    }

    /// <summary>Allocates until done or out of memory: only ever run in a child process under the heap limit.</summary>
    public override async Task<VariantResult> RunAsync(Variant variant, int iterations, IProgress<double> progress, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(iterations);
        var kept = new List<byte[]>();
        var samples = new List<HeapSample>();
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
                var keptAtFailure = kept.Count;
                kept.Clear();
                var note = string.Create(CultureInfo.InvariantCulture, $"OutOfMemoryException at step {step} ({keptAtFailure * 10} MB kept)");
                return new VariantResult(variant, samples, samples.Count, keptAtFailure, note);
            }

            samples.Add(new HeapSample(step, GC.GetTotalMemory(forceFullCollection: true)));
            progress.Report((double)step / iterations);
            await Task.Delay(Pace, cancellationToken).ConfigureAwait(false); // the experiment's pace, not synchronisation
        }

        return new VariantResult(variant, samples, samples.Count, kept.Count, string.Create(CultureInfo.InvariantCulture, $"finished {samples.Count} steps"));
    }
}
