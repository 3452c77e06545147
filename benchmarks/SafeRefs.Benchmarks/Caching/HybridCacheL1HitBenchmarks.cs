using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using SafeRefs.Caching;

namespace SafeRefs.Benchmarks.Caching;

/// <summary>
/// An L1 hit through <see cref="HybridCache"/>.<c>GetOrCreateAsync</c> (string key, immutable string value), with
/// <see cref="BoundedMemoryCache"/> as the local tier vs the default <c>MemoryCache</c> (baseline). Goal: ratio ≤ 1.1.
/// No L2: a hit never reaches it.
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
}
