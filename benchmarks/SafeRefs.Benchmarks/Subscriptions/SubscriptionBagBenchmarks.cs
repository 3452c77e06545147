using BenchmarkDotNet.Attributes;
using SafeRefs.Subscriptions;

namespace SafeRefs.Benchmarks.Subscriptions;

/// <summary>
/// <see cref="SubscriptionBag"/>: adding then disposing 100 000 items (bar: under 10 ms), against a plain
/// <see cref="List{T}"/> disposed in reverse; and <see cref="SubscriptionBag.Remove(IDisposable)"/> + re-add in a bag of
/// <see cref="Size"/> items (O(1): the time must not grow with the size).
/// </summary>
[MemoryDiagnoser]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet disposes it in [GlobalCleanup].")]
public class SubscriptionBagBenchmarks
{
    private const int Items = 100_000;
    private NoOp[] _items = null!;
    private SubscriptionBag _full = null!;
    private NoOp _middle = null!;

    [Params(1_000, 100_000)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _items = Enumerable.Range(0, Math.Max(Items, Size)).Select(static _ => new NoOp()).ToArray();
        _full = new SubscriptionBag();
        for (var i = 0; i < Size; i++)
        {
            _full.Add(_items[i]);
        }

        _middle = _items[Size / 2];
    }

    [GlobalCleanup]
    public void Cleanup() => _full.Dispose();

    [Benchmark(Baseline = true)]
    public void ListAddThenDisposeReverse_100k()
    {
        var list = new List<IDisposable>();
        for (var i = 0; i < Items; i++)
        {
            list.Add(_items[i]);
        }

        for (var i = list.Count - 1; i >= 0; i--)
        {
            list[i].Dispose();
        }
    }

    [Benchmark]
    public void BagAddThenDispose_100k()
    {
        var bag = new SubscriptionBag();
        for (var i = 0; i < Items; i++)
        {
            bag.Add(_items[i]);
        }

        bag.Dispose();
    }

    [Benchmark]
    public bool BagRemoveThenAdd()
    {
        var removed = _full.Remove(_middle);
        _full.Add(_middle);
        return removed;
    }

    public sealed class NoOp : IDisposable
    {
        public void Dispose()
        {
        }
    }
}
