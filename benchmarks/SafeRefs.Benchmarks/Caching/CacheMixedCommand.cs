using System.Diagnostics;
using System.Globalization;
using BitFaster.Caching.Lru;
using Microsoft.Extensions.Caching.Memory;
using SafeRefs.Caching;

namespace SafeRefs.Benchmarks.Caching;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/SafeRefs.Benchmarks -- cache-mixed [rounds]</c>: the workload of
/// <see cref="CacheMixedBenchmarks"/> (80 % read / 20 % write, Zipf(0.9) over 100 000 keys, capacity 10 000, 1 and 2
/// threads), but the four caches take turns round after round, so each throughput ratio compares runs made seconds
/// apart under the same machine load. Reports the median ns per request per thread and the median of the per-round
/// ratios. A cross-check for BenchmarkDotNet runs on a shared, noisy machine; the BenchmarkDotNet class stays the
/// reference.
/// </summary>
public static class CacheMixedCommand
{
    private const int Capacity = 10_000;
    private const int Keys = 100_000;
    private const int OpsPerThread = 1 << 16;
    private const int PassesPerRound = 8;
    private static readonly object Value = new();
    private static readonly MemoryCacheEntryOptions SizeOne = new() { Size = 1 };

    public static int Run(string[] args)
    {
        var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 15;
        foreach (var threads in new[] { 1, 2 })
        {
            RunThreads(threads, rounds);
        }

        return 0;
    }

    private static void RunThreads(int threads, int rounds)
    {
        var traces = new int[threads][];
        var boxed = new object[threads][];
        for (var t = 0; t < threads; t++)
        {
            traces[t] = ZipfTrace.Create(OpsPerThread, Keys, 0.9, seed: 7 + t);
            boxed[t] = Array.ConvertAll(traces[t], static k => (object)k);
        }

        using var bounded = new BoundedLruCache<int, object>(Capacity);
        var lru = new ConcurrentLru<int, object>(Capacity);
        using var memoryCache = new MemoryCache(new MemoryCacheOptions { SizeLimit = Capacity });
        using var boundedMemory = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = Capacity });
        using var team = new ThreadTeam(threads);
        var bodies = new (string Name, Action<int> Body)[]
        {
            ("ConcurrentLru", t =>
            {
                var trace = traces[t];
                for (var i = 0; i < trace.Length; i++)
                {
                    if ((i % 5) == 0)
                    {
                        lru.AddOrUpdate(trace[i], Value);
                    }
                    else
                    {
                        lru.TryGet(trace[i], out _);
                    }
                }
            }),
            ("BoundedLruCache", t =>
            {
                var trace = traces[t];
                for (var i = 0; i < trace.Length; i++)
                {
                    if ((i % 5) == 0)
                    {
                        bounded.Set(trace[i], Value);
                    }
                    else
                    {
                        bounded.TryGet(trace[i], out _);
                    }
                }
            }),
            ("MemoryCache", t =>
            {
                var trace = boxed[t];
                for (var i = 0; i < trace.Length; i++)
                {
                    if ((i % 5) == 0)
                    {
                        memoryCache.Set(trace[i], Value, SizeOne);
                    }
                    else
                    {
                        memoryCache.TryGetValue(trace[i], out _);
                    }
                }
            }),
            ("BoundedMemoryCache", t =>
            {
                var trace = boxed[t];
                for (var i = 0; i < trace.Length; i++)
                {
                    if ((i % 5) == 0)
                    {
                        boundedMemory.Set(trace[i], Value);
                    }
                    else
                    {
                        boundedMemory.TryGetValue(trace[i], out _);
                    }
                }
            }),
        };

        var results = bodies.Select(_ => new List<double>()).ToArray();
        for (var round = -2; round < rounds; round++)
        {
            for (var k = 0; k < bodies.Length; k++)
            {
                var index = (k + Math.Max(round, 0)) % bodies.Length; // rotate the order so no cache always runs first
                var nsPerOp = Measure(team, bodies[index].Body);
                if (round >= 0)
                {
                    results[index].Add(nsPerOp);
                }
            }
        }

        Console.WriteLine($"Threads = {threads}, {rounds} rounds of {PassesPerRound} passes x {OpsPerThread:N0} requests per thread:");
        for (var i = 0; i < bodies.Length; i++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {bodies[i].Name,-20} median {Median(results[i]),8:F1} ns/request (min {results[i].Min(),8:F1})"));
        }

        Ratio("BoundedLruCache throughput vs ConcurrentLru", results[0], results[1]);
        Ratio("BoundedMemoryCache throughput vs MemoryCache", results[2], results[3]);
    }

    private static void Ratio(string label, List<double> baseline, List<double> candidate)
    {
        var ratios = baseline.Zip(candidate, static (b, c) => b / c).ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {label}: median {Median(ratios):F2}x (per-round min {ratios.Min():F2}x, max {ratios.Max():F2}x)"));
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static double Measure(ThreadTeam team, Action<int> body)
    {
        var stopwatch = Stopwatch.StartNew();
        for (var pass = 0; pass < PassesPerRound; pass++)
        {
            team.Run(body);
        }

        return stopwatch.Elapsed.TotalNanoseconds / ((double)OpsPerThread * PassesPerRound);
    }
}
