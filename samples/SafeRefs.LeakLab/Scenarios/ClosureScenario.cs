using System.Runtime.CompilerServices;
using SafeRefs.Events;
using SafeRefs.Testing;

namespace SafeRefs.LeakLab.Scenarios;

/// <summary>A closure that captures a big object, hung on a static event.</summary>
internal sealed class ClosureScenario : StepScenario
{
    public override string Name => "closure";

    public override string Title => "Capturing closure on a static event";

    public override string RiskyPattern => "AppEvents.Tick += (s, e) => view.Refresh(); // captures view";

    public override string SafePattern => "AppEvents.WeakTick.Subscribe(view, static (v, s, e) => v.Refresh())";

    protected override IScenarioRun Start(Variant variant) => new Run(variant);

    private sealed class Run(Variant variant) : SyncRun(variant)
    {
        public override ValueTask DisposeAsync()
        {
            AppEvents.Clear();
            return default;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        protected override void Risky(int iteration, LeakTracker tracker)
        {
            var view = new View(new RequestState(iteration));
#pragma warning disable SR1001 // The risky variant shows exactly this leak: a capturing closure on a static event.
            AppEvents.Tick += (s, e) => view.Refresh();
#pragma warning restore SR1001
            tracker.Track(view);
            AppEvents.Raise();
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        protected override void Safe(int iteration, LeakTracker tracker)
        {
            var view = new View(new RequestState(iteration));
            // The handler lives exactly as long as the view: no token to keep, nothing to forget.
            AppEvents.WeakTick.Subscribe(view, static (v, s, e) => v.Refresh());
            tracker.Track(view);
            AppEvents.Raise();
        }
    }

    private static class AppEvents
    {
        public static readonly WeakEvent<EventArgs> WeakTick = new();

        public static event EventHandler? Tick;

        public static void Raise()
        {
            Tick?.Invoke(null, EventArgs.Empty);
            WeakTick.Raise(null, EventArgs.Empty);
        }

        public static void Clear() => Tick = null;
    }

    private sealed class View(RequestState state)
    {
        public void Refresh() => state.Hit();
    }
}
