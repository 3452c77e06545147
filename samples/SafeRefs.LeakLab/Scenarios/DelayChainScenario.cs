using System.Runtime.CompilerServices;
using SafeRefs.Testing;
using SafeRefs.Timers;

namespace SafeRefs.LeakLab.Scenarios;

/// <summary>The setTimeout chain: <c>while (true) { await Task.Delay(p); Tick(); }</c> in an instance method.</summary>
internal sealed class DelayChainScenario : StepScenario
{
    private static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    public override string Name => "delay-chain";

    public override string Title => "Task.Delay chain that roots its owner";

    public override string RiskyPattern => "while (true) { await Task.Delay(interval); Poll(); }";

    public override string SafePattern => "scope.Loop(poller, interval, static (p, ct) => p.PollAsync(ct))";

    protected override IScenarioRun Start(Variant variant) => new Run(variant);

    private sealed class Run(Variant variant) : SyncRun(variant)
    {
        private readonly TimerScope _scope = new();

        public override ValueTask DisposeAsync() => _scope.DisposeAsync();

        [MethodImpl(MethodImplOptions.NoInlining)]
        protected override void Risky(int iteration, LeakTracker tracker)
        {
            var poller = new Poller(new RequestState(iteration));
            _ = poller.PollForeverAsync();
            tracker.Track(poller);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        protected override void Safe(int iteration, LeakTracker tracker)
        {
            var poller = new Poller(new RequestState(iteration));
            _scope.Loop(poller, Interval, static (p, ct) => p.PollAsync(ct));
            tracker.Track(poller);
        }
    }

    private sealed class Poller(RequestState state)
    {
        public async Task PollForeverAsync()
        {
#pragma warning disable SR1007 // The risky variant shows exactly this leak: the delay chain roots its owner forever.
            while (true)
            {
                await Task.Delay(Interval).ConfigureAwait(false);
                state.Hit();
            }
#pragma warning restore SR1007
        }

        public ValueTask PollAsync(CancellationToken cancellationToken)
        {
            state.Hit();
            return default;
        }
    }
}
