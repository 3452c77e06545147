using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using SafeRefs.Caching;

namespace SafeRefs.Benchmarks.Caching;

/// <summary>
/// An L1 hit through <see cref="HybridCache"/>.<c>GetOrCreateAsync</c> (string key, immutable string value), with
/// <see cref="BoundedMemoryCache"/> as the local tier vs the default <c>MemoryCache</c> (baseline). Goal: ratio ≤ 1.1.
/// No L2: a hit never reaches it. The reference and floor rows break the hit down: each local tier's own lookup, and
/// the two costs only <c>BoundedMemoryCache</c> pays (a randomized key hash, an exact hit count).
/// </summary>
[MemoryDiagnoser]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "BenchmarkDotNet disposes in [GlobalCleanup]; benchmark classes must not be sealed.")]
public class HybridCacheL1HitBenchmarks
{
    private const string Key = "product:4242";
    private ServiceProvider _memoryCacheProvider = null!;
    private ServiceProvider _boundedProvider = null!;
    private HybridCache _onMemoryCache = null!;
    private HybridCache _onBounded = null!;
    private IMemoryCache _memoryCache = null!;
    private IMemoryCache _boundedCache = null!;
    private long _hits;

    [GlobalSetup]
    public void Setup()
    {
        var memory = new ServiceCollection();
        memory.AddMemoryCache();
        memory.AddHybridCache();
        _memoryCacheProvider = memory.BuildServiceProvider();

        var bounded = new ServiceCollection();
        bounded.AddBoundedMemoryCache(options => options.Capacity = 10_000);
        bounded.AddHybridCache();
        _boundedProvider = bounded.BuildServiceProvider();

        _onMemoryCache = _memoryCacheProvider.GetRequiredService<HybridCache>();
        _onBounded = _boundedProvider.GetRequiredService<HybridCache>();
        _memoryCache = _memoryCacheProvider.GetRequiredService<IMemoryCache>();
        _boundedCache = _boundedProvider.GetRequiredService<IMemoryCache>();
        for (var i = 0; i < 10_000; i++)
        {
            _onMemoryCache.SetAsync($"product:{i}", $"value {i}").AsTask().GetAwaiter().GetResult();
            _onBounded.SetAsync($"product:{i}", $"value {i}").AsTask().GetAwaiter().GetResult();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _memoryCacheProvider.Dispose();
        _boundedProvider.Dispose();
    }

    [Benchmark(Baseline = true)]
    public ValueTask<string> MemoryCache_Hit() => _onMemoryCache.GetOrCreateAsync(Key, Key, static (k, _) => ValueTask.FromResult(k));

    [Benchmark]
    public ValueTask<string> BoundedMemoryCache_Hit() => _onBounded.GetOrCreateAsync(Key, Key, static (k, _) => ValueTask.FromResult(k));

    /// <summary>Reference row: the local tier's own lookup of the same entry, as HybridCache stored it.</summary>
    [Benchmark]
    public object? MemoryCache_TryGetValue() => _memoryCache.TryGetValue(Key, out var value) ? value : null;

    /// <summary>Reference row: the local tier's own lookup of the same entry, as HybridCache stored it.</summary>
    [Benchmark]
    public object? BoundedMemoryCache_TryGetValue() => _boundedCache.TryGetValue(Key, out var value) ? value : null;

    /// <summary>Floor row: the randomized string hash <c>BoundedMemoryCache</c> computes for the key (collision-flood safe).</summary>
    [Benchmark]
    public int Floor_RandomizedStringHash() => string.GetHashCode(Key.AsSpan());

    /// <summary>Floor row: the non-randomized string hash <c>MemoryCache</c>'s string-keyed dictionary starts with
    /// (the runtime's own, switched to the randomized one once a chain grows long).</summary>
    [Benchmark]
    public int Floor_NonRandomizedStringHash() => NonRandomizedHashCode(Key);

    /// <summary>Floor row: one interlocked increment, what <c>BoundedMemoryCache</c>'s exact hit count costs at least
    /// (<c>MemoryCache</c> counts only with <c>TrackStatistics</c>).</summary>
    [Benchmark]
    public long Floor_ExactHitCount() => Interlocked.Increment(ref _hits);

    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "GetNonRandomizedHashCode")]
    private static extern int NonRandomizedHashCode(string s);
}
