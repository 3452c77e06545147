using BenchmarkDotNet.Attributes;
using BitFaster.Caching.Lru;
using Microsoft.Extensions.Caching.Memory;
using SafeRefs.Caching;

namespace SafeRefs.Benchmarks.Caching;

/// <summary>
/// Throughput of a mixed 80 % read / 20 % write workload on Zipf(0.9) keys over 100 000 keys, capacity 10 000, with
/// 1, 2 and 4 threads (really concurrent: see <see cref="ThreadTeam"/>; on a 2-core machine the 4-thread row measures
/// the write lock under oversubscription). One operation = one request per thread; baseline BitFaster <c>ConcurrentLru</c>.
/// </summary>
[MemoryDiagnoser]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "BenchmarkDotNet disposes in [GlobalCleanup]; benchmark classes must not be sealed.")]
public class CacheMixedBenchmarks
{
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

    /// <summary>Gets the capacity of every cache (<see cref="CacheMixedChurnBenchmarks"/> lowers it).</summary>
    protected virtual int Capacity => 10_000;

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
