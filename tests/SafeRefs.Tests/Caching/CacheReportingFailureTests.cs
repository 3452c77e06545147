using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Caching;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Caching;

/// <summary>
/// A cache's logger and metric listeners are user code too: when they throw while the cache reports a failing
/// observer, neither the lookup that triggered it nor the expiry sweeper's timer sees the exception.
/// </summary>
public sealed class CacheReportingFailureTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public void Evicted_HandlerAndLoggerThrow_NoGetOrAddFails_FailuresAreCounted()
    {
        using var meterFactory = new TestMeterFactory();
        using var failures = new MetricCollector<long>(meterFactory, "SafeRefs", "saferefs.cache.callback.failures");
        var logger = new ThrowingLogger();
        using var cache = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int>
        {
            Capacity = 2,
            Logger = logger,
            MeterFactory = meterFactory,
        });
        cache.Evicted += static (_, _) => throw new InvalidOperationException("observer bug");
        var thrown = 0;
        for (var i = 0; i < 100; i++)
        {
            try
            {
                Assert.Equal(i, cache.GetOrAdd(i, static k => k));
            }
            catch (InvalidOperationException)
            {
                thrown++;
            }
        }

        Assert.Equal(0, thrown);
        var evictions = cache.Statistics.Evictions;
        Assert.True(evictions >= 90, $"only {evictions} evictions: the test no longer exercises the handler");
        Assert.Equal(evictions, logger.Calls);
        Assert.Equal(evictions, failures.GetMeasurementSnapshot().Where(m => (string?)m.Tags["saferefs.callback.kind"] == "evicted").Sum(m => m.Value));
    }

    [Fact]
    public void ExpirySweep_HandlerAndLoggerThrow_NothingEscapesTheTimerCallback()
    {
        var clock = new FakeTimeProvider();
        var logger = new ThrowingLogger();
        using var cache = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int>
        {
            Capacity = 10,
            ExpireAfterWrite = TimeSpan.FromMinutes(1),
            ExpirationScanInterval = TimeSpan.FromSeconds(1),
            TimeProvider = clock,
            Logger = logger,
        });
        var evicted = 0;
        cache.Evicted += (_, _) =>
        {
            evicted++;
            throw new InvalidOperationException("observer bug");
        };
        cache.Set(1, 1);
        cache.Set(2, 2);

        // FakeTimeProvider runs the sweeper's callback on this thread: whatever escaped it would be thrown here.
        clock.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal(2, evicted); // the first failure did not stop the sweep
        Assert.Equal(0, cache.Count);
        Assert.Equal(2, logger.Calls);
    }

    [Fact]
    public void MemoryCache_EntryTooLarge_LoggerThrows_SetDoesNotThrow()
    {
        var logger = new ThrowingLogger();
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { SizeLimit = 10, LoggerFactory = new SingleLoggerFactory(logger) });

        cache.Set("big", 1, new MemoryCacheEntryOptions { Size = 11 }); // warned (1404) and not stored

        Assert.False(cache.TryGetValue("big", out _));
        Assert.Equal(1, logger.Calls);
    }

    [Fact]
    public void MemoryCache_NeverRemoveEvicted_LoggerThrows_TheWriteIsStored()
    {
        var logger = new ThrowingLogger();
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = 3, LoggerFactory = new SingleLoggerFactory(logger) });
        for (var i = 0; i < 3; i++)
        {
            cache.Set(i, i, new MemoryCacheEntryOptions { Priority = CacheItemPriority.NeverRemove });
        }

        cache.Set("normal", 1); // evicts a NeverRemove entry: warned (1405)

        Assert.True(cache.TryGetValue("normal", out _));
        Assert.Equal(3, cache.Count);
        Assert.Equal(1, logger.Calls);
    }

    [Fact]
    public void ExpirySweep_OnARealTimer_HandlerAndLoggerThrow_TheProcessSurvives()
    {
        var (exitCode, output) = ChildProcess.Run("cache-sweep-handler-and-logger-throw", TimeSpan.FromSeconds(90));
        Assert.True(exitCode == 0, $"the child exited with {exitCode}: {output}");
        Assert.Contains("handler ran True", output, StringComparison.Ordinal);
        Assert.Contains("survived", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Child-process scenario: the sweeper on the system clock evicts an expired entry whose
    /// <c>Evicted</c> handler throws, and the cache's logger throws when told; an exception that left the timer
    /// callback would end the process.
    /// </summary>
    internal static int SweepWithThrowingHandlerAndLogger()
    {
        var logger = new ThrowingLogger();
        var clock = new ReturnTrackingTimeProvider();
        using var handlerRan = new ManualResetEventSlim();
        var cache = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int>
        {
            Capacity = 10,
            ExpireAfterWrite = TimeSpan.FromMilliseconds(20),
            ExpirationScanInterval = TimeSpan.FromMilliseconds(20),
            Logger = logger,
            TimeProvider = clock,
        });
        cache.Evicted += (_, _) =>
        {
            handlerRan.Set();
            throw new InvalidOperationException("observer bug");
        };
        cache.Set(1, 1); // never read again: only the sweeper removes it
        Console.WriteLine($"handler ran {handlerRan.Wait(Bound)}");
        _ = SpinWait.SpinUntil(() => logger.Calls >= 1, Bound);

        // The sweep that ran the handler must return from its timer callback: an exception that escaped it would end
        // the process from the timer thread, or leave it unreturned.
        cache.Dispose();
        if (!clock.WaitUntilNoneRuns(Bound))
        {
            Console.WriteLine("a timer callback did not return");
            return 3;
        }

        Console.WriteLine($"logger calls {logger.Calls}");
        Console.WriteLine("survived");
        return 0;
    }

    private sealed class SingleLoggerFactory(ILogger logger) : ILoggerFactory
    {
        public void AddProvider(ILoggerProvider provider)
        {
        }

        public ILogger CreateLogger(string categoryName) => logger;

        public void Dispose()
        {
        }
    }
}
