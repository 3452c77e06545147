using BenchmarkDotNet.Attributes;
using SafeRefs.Events;

namespace SafeRefs.Benchmarks.Events;

/// <summary>
/// Raise to 100 live subscribers: a [WeakEvent] partial event (generated accessors and raise method) against the
/// same event written by hand over a <see cref="WeakEvent{TArgs}"/> (baseline). Bar: the generated event at most
/// 1.05x the hand-written one.
/// </summary>
[MemoryDiagnoser]
public partial class GeneratedEventBenchmarks
{
    private readonly List<Subscriber> _subscribers = [];
    private readonly HandWritten _handWritten = new();
    private readonly Generated _generated = new();

    [GlobalSetup]
    public void Setup()
    {
        for (var i = 0; i < 100; i++)
        {
            var s = new Subscriber();
            _subscribers.Add(s);
            _handWritten.Changed += s.OnEvent;
            _generated.Changed += s.OnEvent;
        }
    }

    [Benchmark(Baseline = true)]
    public void HandWrittenWeakEvent() => _handWritten.Raise(PingMessage.Instance);

    [Benchmark]
    public void GeneratedWeakEvent() => _generated.Raise(PingMessage.Instance);

    private sealed class HandWritten
    {
        private readonly WeakEvent<PingMessage> _changed = new();

        public event EventHandler<PingMessage> Changed
        {
            add => _changed.Add(value);
            remove => _changed.Remove(value);
        }

        public void Raise(PingMessage message) => _changed.Raise(this, message);
    }

    private sealed partial class Generated
    {
        [WeakEvent]
        public partial event EventHandler<PingMessage>? Changed;

        public void Raise(PingMessage message) => OnChanged(message);
    }
}
