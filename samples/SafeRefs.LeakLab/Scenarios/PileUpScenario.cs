using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using SafeRefs.Testing;

namespace SafeRefs.LeakLab.Scenarios;

/// <summary>
/// Requests accepted into a queue faster than a CPU-bound consumer drains it (Node's blocked event loop): with an
/// unbounded queue the backlog, and the memory each waiting request holds, grow with every request; a bounded queue
/// admits up to its capacity and rejects the rest at once.
/// </summary>
/// <remarks>
/// Each iteration is one tick: <see cref="ArrivalsPerTick"/> requests arrive, and the consumer has CPU time to finish
/// one. The lab fixes these rates (and serves inline) so that the figures are the same on every machine; in a
/// service the consumer runs on a worker and the ratio comes from CPU work, sync-over-async waits or a starved pool.
/// </remarks>
internal sealed class PileUpScenario : StepScenario
{
    public const int QueueCapacity = 64;
    public const int ArrivalsPerTick = 4;

    public override string Name => "pile-up";

    public override string Title => "Requests piling up behind a busy CPU";

    public override string RiskyPattern => "queue = Channel.CreateUnbounded<Request>(); queue.Writer.TryWrite(request); // always accepted";

    public override string SafePattern =>
        $"queue = Channel.CreateBounded<Request>(new BoundedChannelOptions({QueueCapacity}) {{ FullMode = Wait }}); if (!queue.Writer.TryWrite(request)) reject (503)";

    public override int DefaultIterations => 1_000;

    /// <summary>The bounded queue keeps up to its capacity waiting by design.</summary>
    public override int AllowedRetained => QueueCapacity;

    protected override IScenarioRun Start(Variant variant) => new Run(variant);

    private sealed class Run : IScenarioRun
    {
        private readonly Variant _variant;
        private readonly Channel<RequestState> _queue;
        private int _accepted;
        private int _rejected;

        public Run(Variant variant)
        {
            _variant = variant;
            _queue = variant == Variant.Risky
                ? Channel.CreateUnbounded<RequestState>()
                : Channel.CreateBounded<RequestState>(new BoundedChannelOptions(QueueCapacity)
                {
                    // With Wait, TryWrite returns false when the queue is full: the request is rejected, not parked.
                    FullMode = BoundedChannelFullMode.Wait,
                });
        }

        public string? Note => string.Create(
            CultureInfo.InvariantCulture,
            $"{_queue.Reader.Count} requests waiting, {_accepted} accepted, {_rejected} rejected");

        public ValueTask StepAsync(int iteration, LeakTracker tracker)
        {
            for (var i = 0; i < ArrivalsPerTick; i++)
            {
                Arrive((iteration * ArrivalsPerTick) + i, tracker);
            }

            // The consumer's CPU time for this tick: one request.
            if (_queue.Reader.TryRead(out var request))
            {
                request.Hit();
            }

            return default;
        }

        public ValueTask DisposeAsync()
        {
            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out _))
            {
            }

            return default;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void Arrive(int id, LeakTracker tracker)
        {
            var request = new RequestState(id);
            tracker.Track(request);
            if (_queue.Writer.TryWrite(request))
            {
                _accepted++;
            }
            else
            {
                // Answer at once (503 / 429 with Retry-After): the caller can back off; the request is not kept.
                _rejected++;
            }
        }
    }
}
