using BenchmarkDotNet.Attributes;
using SafeRefs.Subscriptions;

namespace SafeRefs.Benchmarks.Subscriptions;

/// <summary>
/// Attach + detach one handler on a plain .NET event: raw <c>+=</c>/<c>-=</c> (baseline) against
/// <see cref="Subscribe.Event{TSource, THandler}"/> with and without a <see cref="ListenerBudget"/>, and
/// <see cref="Subscribe.WeakEvent{TSource, TOwner, TArgs}"/>. <see cref="ExistingHandlers"/> handlers stay attached.
/// </summary>
[MemoryDiagnoser]
public class SubscribeBenchmarks
{
    private readonly EventHandler _handler = static (_, _) => { };
    private readonly EventHandler<EventArgs> _genericHandler = static (_, _) => { };
    private readonly ListenerBudget _budget = new(maxListeners: 0);
    private readonly Owner _owner = new();
    private Source _source = null!;

    [Params(0, 1)]
    public int ExistingHandlers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _source = new Source();
        for (var i = 0; i < ExistingHandlers; i++)
        {
            _source.Changed += static (_, _) => { };
            _source.GenericChanged += static (_, _) => { };
        }
    }

    [Benchmark(Baseline = true)]
    public void RawAddRemove()
    {
        _source.Changed += _handler;
        _source.Changed -= _handler;
    }

    [Benchmark]
    public void SubscribeEventDispose()
    {
        Subscribe.Event(_source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, _handler).Dispose();
    }

    [Benchmark]
    public void SubscribeEventWithBudgetDispose()
    {
        Subscribe.Event(_source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, _handler, _budget).Dispose();
    }

    [Benchmark]
    public void RawGenericAddRemove()
    {
        _source.GenericChanged += _genericHandler;
        _source.GenericChanged -= _genericHandler;
    }

    [Benchmark]
    public void WeakEventDispose()
    {
        Subscribe.WeakEvent<Source, Owner, EventArgs>(
            _source, static (s, h) => s.GenericChanged += h, static (s, h) => s.GenericChanged -= h, _owner, static (_, _, _) => { }).Dispose();
    }

    public sealed class Source
    {
        public event EventHandler? Changed;

        public event EventHandler<EventArgs>? GenericChanged;

        public void Raise()
        {
            Changed?.Invoke(this, EventArgs.Empty);
            GenericChanged?.Invoke(this, EventArgs.Empty);
        }
    }

    public sealed class Owner
    {
    }
}
