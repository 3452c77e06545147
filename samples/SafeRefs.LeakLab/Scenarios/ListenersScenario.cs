using System.Runtime.CompilerServices;
using SafeRefs.Subscriptions;
using SafeRefs.Testing;

namespace SafeRefs.LeakLab.Scenarios;

/// <summary>Listeners added to a long-lived source and never removed.</summary>
internal sealed class ListenersScenario : StepScenario
{
    public override string Name => "listeners";

    public override string Title => "Listener never removed from a long-lived source";

    public override string RiskyPattern => "source.Changed += listener.OnChanged; // never -=";

    public override string SafePattern => "Subscribe.Event(source, add, remove, handler).DisposeWith(requestBag)";

    protected override IScenarioRun Start(Variant variant) => new Run(variant);

    private sealed class Run(Variant variant) : SyncRun(variant)
    {
        private readonly Source _source = new();

        public override ValueTask DisposeAsync()
        {
            _source.Clear();
            return default;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        protected override void Risky(int iteration, LeakTracker tracker)
        {
            var listener = new Listener(new RequestState(iteration));
            _source.Changed += listener.OnChanged;
            _source.Raise();
            tracker.Track(listener);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        protected override void Safe(int iteration, LeakTracker tracker)
        {
            // One bag per request: everything the request attached goes when it ends.
            using var requestBag = new SubscriptionBag();
            var listener = new Listener(new RequestState(iteration));
            Subscribe.Event(_source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)listener.OnChanged)
                .DisposeWith(requestBag);
            _source.Raise();
            tracker.Track(listener);
        }
    }

    private sealed class Source
    {
        public event EventHandler? Changed;

        public void Raise() => Changed?.Invoke(this, EventArgs.Empty);

        public void Clear() => Changed = null;
    }

    private sealed class Listener(RequestState state)
    {
        public void OnChanged(object? sender, EventArgs e) => state.Hit();
    }
}
