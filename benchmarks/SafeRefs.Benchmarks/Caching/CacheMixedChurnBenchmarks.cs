using BenchmarkDotNet.Attributes;
using BitFaster.Caching.Lru;
using Microsoft.Extensions.Caching.Memory;
using SafeRefs.Caching;

namespace SafeRefs.Benchmarks.Caching;

/// <summary>
/// The mixed workload of <see cref="CacheMixedBenchmarks"/> (80 % read / 20 % write, Zipf(0.9) over 100 000 keys, the
/// same traces) on a capacity of 1 000: its writes touch about 7 000 distinct keys per thread, so every invocation
/// inserts, evicts and (for the bounded caches) folds the frequency sketch, which the capacity-10 000 rows never do
/// after warm-up (there every write replaces a resident value). A separate class so those rows stay as measured.
/// </summary>
[MemoryDiagnoser]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "BenchmarkDotNet disposes in [GlobalCleanup]; benchmark classes must not be sealed.")]
public class CacheMixedChurnBenchmarks
{
    private const int Capacity = 1_000;
    private const int Keys = 100_000;
    private const int OpsPerThread = 1 << 16;
    private static readonly object Value = new();
    private static readonly MemoryCacheEntryOptions SizeOne = new() { Size = 1 };
    private int[][] _traces = null!;
    private object[][] _boxedTraces = null!;
    private BoundedLruCache<int, object> _bounded = null!;
    private ConcurrentLru<int, object> _lru = null!;
    private MemoryCache _memoryCache = null!;
    private BoundedMemoryCache _boundedMemory = null!;
    private ThreadTeam _team = null!;

    [Params(1, 2, 4)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _traces = new int[Threads][];
        _boxedTraces = new object[Threads][];
        for (var t = 0; t < Threads; t++)
        {
            _traces[t] = ZipfTrace.Create(OpsPerThread, Keys, 0.9, seed: 7 + t);
            _boxedTraces[t] = Array.ConvertAll(_traces[t], static k => (object)k);
        }

        _bounded = new BoundedLruCache<int, object>(Capacity);
        _lru = new ConcurrentLru<int, object>(Capacity);
        _memoryCache = new MemoryCache(new MemoryCacheOptions { SizeLimit = Capacity });
        _boundedMemory = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = Capacity });
        _team = new ThreadTeam(Threads);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _bounded.Dispose();
        _memoryCache.Dispose();
        _boundedMemory.Dispose();
        _team.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = OpsPerThread)]
    public void ConcurrentLru_Mixed() => Run(t =>
    {
        var trace = _traces[t];
        for (var i = 0; i < trace.Length; i++)
        {
            if ((i % 5) == 0)
            {
                _lru.AddOrUpdate(trace[i], Value);
            }
            else
            {
                _lru.TryGet(trace[i], out _);
            }
        }
    });

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public void BoundedLruCache_Mixed() => Run(t =>
    {
        var trace = _traces[t];
        for (var i = 0; i < trace.Length; i++)
        {
            if ((i % 5) == 0)
            {
                _bounded.Set(trace[i], Value);
            }
            else
            {
                _bounded.TryGet(trace[i], out _);
            }
        }
    });

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public void MemoryCache_Mixed() => Run(t =>
    {
        var trace = _boxedTraces[t];
        for (var i = 0; i < trace.Length; i++)
        {
            if ((i % 5) == 0)
            {
                _memoryCache.Set(trace[i], Value, SizeOne);
            }
            else
            {
                _memoryCache.TryGetValue(trace[i], out _);
            }
        }
    });

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public void BoundedMemoryCache_Mixed() => Run(t =>
    {
        var trace = _boxedTraces[t];
        for (var i = 0; i < trace.Length; i++)
        {
            if ((i % 5) == 0)
            {
                _boundedMemory.Set(trace[i], Value);
            }
            else
            {
                _boundedMemory.TryGetValue(trace[i], out _);
            }
        }
    });

    private void Run(Action<int> body) => _team.Run(body);
}
