using System.Diagnostics.Metrics;
using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging.Testing;
using SafeRefs.Caching;
using SafeRefs.Diagnostics;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Events;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Diagnostics.Internal;

/// <summary>
/// A <see cref="MeterListener"/>'s <c>InstrumentPublished</c> callback is user code that runs inside SafeRefs while it
/// creates its instruments (in static initialisers too): when it throws, SafeRefs logs 1500 and keeps working.
/// </summary>
[Collection(GcCollection.Name)] // SafeRefsLog.Logger is process-wide: no parallel test may swap it meanwhile.
public sealed class MetricsPublishFailureTests
{
    [Fact]
    public void For_ListenerThrowsOnPublish_SetIsCreatedLoggedAndItsPrimitivesWork()
    {
        using var factory = new TestMeterFactory();
        var published = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter.Scope == factory)
            {
                Interlocked.Increment(ref published);
                throw new InvalidOperationException("listener");
            }
        };
        listener.Start();
        var logger = new FakeLogger();
        var previous = SafeRefsLog.Logger;
        SafeRefsLog.Logger = logger;
        try
        {
            var metrics = Metrics.For(factory);

            Assert.Same(metrics, Metrics.For(factory));
            Assert.False(metrics.Cache.CallbackFailures.Enabled);
            var records = logger.Collector.GetSnapshot();
            Assert.Equal(Volatile.Read(ref published), records.Count);
            Assert.True(records.Count >= 10, $"only {records.Count} instruments were published");
            Assert.All(records, r => Assert.Equal(1500, r.Id.Id));
            Assert.All(records, r => Assert.IsType<InvalidOperationException>(r.Exception));
            Assert.Contains(records, r => r.Message.Contains("saferefs.cache.callback.failures", StringComparison.Ordinal));

            var cache = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int> { Capacity = 4, MeterFactory = factory });
            cache.Set(1, 1);
            Assert.True(cache.TryGet(1, out var value));
            Assert.Equal(1, value);
            Assert.Equal(records.Count, Volatile.Read(ref published)); // the set was created once
        }
        finally
        {
            SafeRefsLog.Logger = previous;
        }
    }

    [Fact]
    public void StaticInstruments_ListenerThrowsOnPublish_SafeRefsKeepsWorkingAndLogs()
    {
        // The static fallback is created once per process: only a fresh process can watch it being created.
        var (exitCode, output) = ChildProcess.Run("metrics-listener-throws-on-publish", TimeSpan.FromSeconds(90));

        Assert.True(exitCode == 0, $"the child ended with {exitCode}: {output}");
        Assert.Contains("event 1500 InvalidOperationException", output, StringComparison.Ordinal);
        Assert.Contains("cache hit True", output, StringComparison.Ordinal);
        Assert.Contains("event raised 1", output, StringComparison.Ordinal);
        Assert.Contains("survived", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// The child of <see cref="StaticInstruments_ListenerThrowsOnPublish_SafeRefsKeepsWorkingAndLogs"/>: a listener that
    /// throws for every SafeRefs instrument is started before SafeRefs creates any; then the static instruments (and
    /// every holder of static instruments) are created by ordinary use.
    /// </summary>
    internal static int ListenerThrowsOnPublish()
    {
        SafeRefsLog.Logger = new ConsoleEventIdLogger();
        using var listener = new MeterListener();
        listener.InstrumentPublished = static (instrument, _) =>
        {
            if (instrument.Meter.Name == SafeRefsMeter.Name)
            {
                throw new InvalidOperationException("listener");
            }
        };
        listener.Start();

        var cache = new BoundedLruCache<int, int>(4);
        cache.Set(1, 1);
        Console.WriteLine($"cache hit {cache.TryGet(1, out _)}");
        var weakEvent = new WeakEvent<EventArgs>();
        var owner = new Source();
        using (weakEvent.Subscribe(owner, static (o, _, _) => o.Raised++))
        {
            weakEvent.Raise(null, EventArgs.Empty);
        }

        Console.WriteLine($"event raised {owner.Raised}");
        var source = new Source();
        using (Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { })))
        {
        }

        foreach (var holder in typeof(Metrics).GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic))
        {
            RuntimeHelpers.RunClassConstructor(holder.TypeHandle);
        }

        GC.KeepAlive(owner);
        Console.WriteLine("survived");
        return 0;
    }

    private sealed class Source
    {
        public event EventHandler? Changed;

        public int Raised { get; set; }

        public void Raise() => Changed?.Invoke(this, EventArgs.Empty);
    }
}
