using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using SafeRefs.Caching;
using SafeRefs.Caching.Redis;

namespace SafeRefs.Benchmarks.Caching;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/SafeRefs.Benchmarks -- invalidation-latency [host:port] [removals]</c>:
/// two instances (two containers in this process) share a Redis; for each of 1 000 keys, B holds the key in its L1,
/// A calls <c>HybridCache.RemoveAsync</c>, and the time until B's L1 no longer holds it is recorded (median, p99,
/// max), with the time A's call took. Without <c>host:port</c> it starts a throw-away <c>redis-server</c> on a free
/// loopback port. Bounded: each removal gives up after 5 s, the run after 2 minutes.
/// </summary>
public static class InvalidationLatencyCommand
{
    public static int Run(string[] args)
        => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        var endpoint = args.Length > 0 && args[0].Contains(':', StringComparison.Ordinal) ? args[0] : null;
        var removals = args.Length > 0 && int.TryParse(args[^1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 1_000;
        Process? server = null;
        if (endpoint is null)
        {
            var port = FreePort();
            server = Process.Start(new ProcessStartInfo("redis-server", $"--port {port} --bind 127.0.0.1 --save \"\" --appendonly no")
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            });
            endpoint = $"127.0.0.1:{port}";
            await WaitForPortAsync(port);
        }

        try
        {
            var scope = "latency:" + Guid.NewGuid().ToString("N")[..8];
            await using var a = Start(endpoint, scope);
            await using var b = Start(endpoint, scope);
            var hybridA = a.GetRequiredService<HybridCache>();
            var l1B = b.GetRequiredService<BoundedMemoryCache>();
            await a.GetRequiredService<RedisInvalidationChannel>().WhenSubscribedAsync();
            await b.GetRequiredService<RedisInvalidationChannel>().WhenSubscribedAsync();

            var endToEnd = new List<double>(removals);
            var writer = new List<double>(removals);
            var lost = 0;
            var run = Stopwatch.StartNew();
            for (var i = 0; i < removals && run.Elapsed < TimeSpan.FromMinutes(2); i++)
            {
                var key = $"k:{i}";
                l1B.Set(key, i);
                var start = Stopwatch.GetTimestamp();
                await hybridA.RemoveAsync(key);
                writer.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                var spin = default(SpinWait);
                while (l1B.TryGetValue(key, out _) && Stopwatch.GetElapsedTime(start) < TimeSpan.FromSeconds(5))
                {
                    spin.SpinOnce();
                }

                if (l1B.TryGetValue(key, out _))
                {
                    lost++;
                }
                else
                {
                    endToEnd.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                }
            }

            Console.WriteLine($"Invalidation latency, 2 instances on {endpoint}, {endToEnd.Count:N0} removals ({lost} not seen within 5 s):");
            Print("A's RemoveAsync returns", writer);
            Print("B's L1 no longer holds the key", endToEnd);
            return lost == 0 ? 0 : 1;
        }
        finally
        {
            if (server is not null)
            {
                server.Kill();
                await server.WaitForExitAsync();
                server.Dispose();
            }
        }
    }

    private static void Print(string what, List<double> microseconds)
    {
        if (microseconds.Count == 0)
        {
            return;
        }

        microseconds.Sort();
        double At(double q) => microseconds[Math.Min(microseconds.Count - 1, (int)(q * microseconds.Count))];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {what,-32} median {At(0.5),8:F0} µs   p99 {At(0.99),8:F0} µs   max {microseconds[^1],8:F0} µs"));
    }

    private static ServiceProvider Start(string redis, string scope)
    {
        var services = new ServiceCollection();
        services.AddStackExchangeRedisCache(options =>
        {
            options.Configuration = redis;
            options.InstanceName = scope + ":";
        });
        services.AddBoundedMemoryCache(options => options.Capacity = 10_000)
            .AddRedisInvalidation(options =>
            {
                options.Configuration = redis;
                options.ChannelName = scope;
            });
        services.AddHybridCache();
        return services.BuildServiceProvider();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitForPortAsync(int port)
    {
        for (var attempt = 0; attempt < 500; attempt++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(20);
            }
        }
    }
}
