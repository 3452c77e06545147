using System.Runtime.CompilerServices;
using SafeRefs.Caching;
using SafeRefs.Testing;

namespace SafeRefs.LeakLab.Scenarios;

/// <summary>A static dictionary used as a cache: it only grows.</summary>
internal sealed class CacheScenario : StepScenario
{
    public const int Capacity = 100;

    public override string Name => "cache";

    public override string Title => "Unbounded static cache";

    public override string RiskyPattern => "static Dictionary<int, T> Cache; Cache[key] = value; // never removed";

    public override string SafePattern => $"new BoundedLruCache<int, T>(capacity: {Capacity})";

    /// <summary>A bounded cache keeps up to its capacity alive by design.</summary>
    public override int AllowedRetained => Capacity;

    protected override IScenarioRun Start(Variant variant) => new Run(variant);

    private sealed class Run(Variant variant) : SyncRun(variant)
    {
        private static readonly Dictionary<int, RequestState> Cache = [];
        private readonly BoundedLruCache<int, RequestState> _bounded = new(Capacity);

        public override ValueTask DisposeAsync()
        {
            Cache.Clear();
            _bounded.Dispose();
            return default;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        protected override void Risky(int iteration, LeakTracker tracker)
        {
            var value = new RequestState(iteration);
            Cache[iteration] = value;
            tracker.Track(value);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        protected override void Safe(int iteration, LeakTracker tracker)
        {
            var value = new RequestState(iteration);
            _bounded.Set(iteration, value);
            tracker.Track(value);
        }
    }
}
