using System.Runtime.CompilerServices;
using SafeRefs.Testing;

namespace SafeRefs.LeakLab;

/// <summary>
/// A scenario made of iterations: each iteration creates per-use objects (tracked weakly) and attaches them the way
/// the variant does. The heap is sampled after full collections; at the end the tracker counts survivors.
/// </summary>
internal abstract class StepScenario : Scenario
{
    private const int SampleCount = 20;

    public override async Task<VariantResult> RunAsync(Variant variant, int iterations, IProgress<double> progress, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(iterations);
        var tracker = new LeakTracker();
        var samples = new List<HeapSample>();
        var every = Math.Max(1, iterations / SampleCount);
        await using var run = Start(variant);
        samples.Add(new HeapSample(0, GC.GetTotalMemory(forceFullCollection: true)));
        for (var i = 1; i <= iterations; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await run.StepAsync(i, tracker).ConfigureAwait(false);
            if (i % every == 0 || i == iterations)
            {
                samples.Add(new HeapSample(i, GC.GetTotalMemory(forceFullCollection: true)));
                progress.Report((double)i / iterations);
            }
        }

        await run.SettleAsync().ConfigureAwait(false);

        // Socket completions run continuations inline: this code may still be nested inside the last I/O callback,
        // whose frames can hold that request's handler. Count survivors from a fresh thread-pool stack.
        await Task.Yield();
        var retained = tracker.AliveCount();
        return new VariantResult(variant, samples, tracker.TrackedCount, retained, run.Note);
    }

    /// <summary>Creates the long-lived side (source, pool, cache…) for one variant; disposing it cleans up for the next run.</summary>
    protected abstract IScenarioRun Start(Variant variant);

    /// <summary>One variant's long-lived state.</summary>
    protected interface IScenarioRun : IAsyncDisposable
    {
        string? Note => null;

        /// <summary>One iteration. Implementations create per-use objects in a non-inlined method and track them.</summary>
        ValueTask StepAsync(int iteration, LeakTracker tracker);

        /// <summary>Lets background work (timer ticks) observe dead owners before survivors are counted.</summary>
        ValueTask SettleAsync() => default;
    }

    /// <summary>A run whose iterations are synchronous: the variant picks the risky or the SafeRefs step.</summary>
    protected abstract class SyncRun(Variant variant) : IScenarioRun
    {
        public virtual string? Note => null;

        protected Variant Variant { get; } = variant;

        public ValueTask StepAsync(int iteration, LeakTracker tracker)
        {
            if (Variant == Variant.Risky)
            {
                Risky(iteration, tracker);
            }
            else
            {
                Safe(iteration, tracker);
            }

            return default;
        }

        public abstract ValueTask DisposeAsync();

        /// <summary>One risky iteration; overrides are marked NoInlining so the per-use objects die with the frame.</summary>
        protected abstract void Risky(int iteration, LeakTracker tracker);

        /// <summary>One SafeRefs iteration; overrides are marked NoInlining so the per-use objects die with the frame.</summary>
        protected abstract void Safe(int iteration, LeakTracker tracker);
    }

    /// <summary>A payload of some weight, so that a leak shows on the heap.</summary>
    protected sealed class RequestState
    {
        private readonly byte[] _buffer = new byte[4 * 1024];

        public RequestState(int id) => Id = id;

        public int Id { get; }

        public int Hits { get; private set; }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public void Hit()
        {
            Hits++;
            _buffer[Hits % _buffer.Length]++;
        }
    }
}
