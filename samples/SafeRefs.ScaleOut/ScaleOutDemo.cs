using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using SafeRefs.Caching;
using SafeRefs.Caching.Redis;

namespace SafeRefs.ScaleOut;

/// <summary>
/// Two "instances" (two service containers in one process) share one Redis: each has HybridCache over a bounded L1
/// and the invalidation channel. Shows the per-instance L1 counts staying at their bound under a flood of distinct
/// keys, and a removal on one instance disappearing from the other.
/// </summary>
public static class ScaleOutDemo
{
    public const int Capacity = 100;

    public static async Task<DemoResult> RunAsync(string redis, TextWriter output, int keys = 1_000)
    {
        var scope = "scaleout-demo:" + Guid.NewGuid().ToString("N")[..8];
        await using var a = Start(redis, scope);
        await using var b = Start(redis, scope);
        var hybridA = a.GetRequiredService<HybridCache>();
        var hybridB = b.GetRequiredService<HybridCache>();
        var l1A = a.GetRequiredService<BoundedMemoryCache>();
        var l1B = b.GetRequiredService<BoundedMemoryCache>();
        var channelB = b.GetRequiredService<RedisInvalidationChannel>();
        await a.GetRequiredService<RedisInvalidationChannel>().WhenSubscribedAsync();
        await channelB.WhenSubscribedAsync();

        output.WriteLine($"Two instances, L1 capacity {Capacity} each, sharing Redis at {redis}.");
        output.WriteLine($"{"keys written",12} {"L1 of A",8} {"L1 of B",8}");
        var maxA = 0;
        var maxB = 0;
        for (var i = 1; i <= keys; i++)
        {
            var applied = channelB.Statistics.Applied;
            await hybridA.SetAsync($"product:{i}", $"product {i}");
            await ReachedAsync(channelB, applied);
            await hybridB.GetOrCreateAsync($"product:{i}", static _ => ValueTask.FromResult("missing"));
            maxA = Math.Max(maxA, l1A.Count);
            maxB = Math.Max(maxB, l1B.Count);
            if (i % (keys / 5) == 0)
            {
                output.WriteLine($"{i,12} {l1A.Count,8} {l1B.Count,8}");
            }
        }

        var before = channelB.Statistics.Applied;
        await hybridA.SetAsync("price:42", "9.99");
        await ReachedAsync(channelB, before);
        var seenByB = await hybridB.GetOrCreateAsync("price:42", static _ => ValueTask.FromResult("missing"));
        output.WriteLine($"B reads price:42 = {seenByB} (its L1 holds it: {l1B.TryGetValue("price:42", out _)}).");

        var clock = Stopwatch.StartNew();
        await hybridA.RemoveAsync("price:42");
        while (l1B.TryGetValue("price:42", out _) && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Yield();
        }

        var gone = !l1B.TryGetValue("price:42", out _);
        output.WriteLine(gone
            ? $"A removed price:42; it left B's L1 after {clock.Elapsed.TotalMilliseconds.ToString("F1", CultureInfo.InvariantCulture)} ms."
            : "A removed price:42, but B still holds it after 10 s.");
        return new DemoResult(maxA, maxB, gone);
    }

    // B reads a key once A's announcement of its write has reached B: read earlier, the announcement arriving after
    // the read would drop B's fresh copy (a harmless re-read later, but it would blur the counts shown here).
    private static async Task ReachedAsync(RedisInvalidationChannel channel, long appliedBefore)
    {
        var wait = Stopwatch.StartNew();
        while (channel.Statistics.Applied == appliedBefore && wait.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(1);
        }
    }

    private static ServiceProvider Start(string redis, string scope)
    {
        var services = new ServiceCollection();
        services.AddStackExchangeRedisCache(options =>
        {
            options.Configuration = redis;
            options.InstanceName = scope + ":";
        });
        services.AddBoundedMemoryCache(options => options.Capacity = Capacity)
            .AddRedisInvalidation(options =>
            {
                options.Configuration = redis;
                options.ChannelName = scope;
            });
        services.AddHybridCache();
        return services.BuildServiceProvider();
    }
}

/// <summary>What the demo observed.</summary>
/// <param name="MaxL1CountA">The largest L1 count seen on instance A.</param>
/// <param name="MaxL1CountB">The largest L1 count seen on instance B.</param>
/// <param name="RemovalReachedB">Whether A's removal left B's L1.</param>
public sealed record DemoResult(int MaxL1CountA, int MaxL1CountB, bool RemovalReachedB);
