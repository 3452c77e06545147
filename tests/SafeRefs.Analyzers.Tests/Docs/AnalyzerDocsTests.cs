using SafeRefs.Analyzers.Tests.Infrastructure;

namespace SafeRefs.Analyzers.Tests.Docs;

/// <summary>
/// The examples of docs/analyzers/SR10xx.md, compiled against the real SafeRefs API: each "flagged" example gets
/// exactly its diagnostic, each "fixed" example compiles and gets none.
/// </summary>
public sealed class AnalyzerDocsTests
{
    [Fact]
    public Task SR1001_Examples_FlaggedAndFixed() => Task.WhenAll(
        Verify.DocExampleAsync<EventSubscriptionAnalyzer>(
            """
            #region docs-sr1001-flagged
            public sealed class Dashboard
            {
                private int _refreshes;

                public Dashboard()
                {
                    Settings.Default.Saved += OnSaved;
                }

                private void OnSaved(object? sender, EventArgs e) => _refreshes++;
            }
            #endregion
            """,
            ("SR1001", "Settings.Default.Saved += OnSaved;")),
        Verify.DocExampleAsync<EventSubscriptionAnalyzer>(
            """
            #region docs-sr1001-fixed
            using SafeRefs.Subscriptions;

            public sealed class Dashboard : IDisposable
            {
                private readonly SubscriptionBag _subscriptions = new();
                private int _refreshes;

                public Dashboard()
                {
                    Subscribe.Event<Settings, EventHandler>(
                            Settings.Default, static (s, h) => s.Saved += h, static (s, h) => s.Saved -= h, OnSaved)
                        .DisposeWith(_subscriptions);
                }

                public void Dispose() => _subscriptions.Dispose();

                private void OnSaved(object? sender, EventArgs e) => _refreshes++;
            }
            #endregion
            """),
        Verify.DocExampleAsync<EventSubscriptionAnalyzer>(
            """
            #region docs-sr1001-static-flagged
            public sealed record Order(int Id, decimal Total);

            public static class Telemetry
            {
                public static void Track(Order order)
                {
                    AppDomain.CurrentDomain.ProcessExit += (s, e) => Flush(order);
                }

                private static void Flush(Order order) => Console.WriteLine($"order {order.Id}: {order.Total}");
            }
            #endregion
            """,
            ("SR1001", "AppDomain.CurrentDomain.ProcessExit += (s, e) => Flush(order);")),
        Verify.DocExampleAsync<EventSubscriptionAnalyzer>(
            """
            #region docs-sr1001-static-fixed
            public sealed record Order(int Id, decimal Total);

            public static class Telemetry
            {
                private static readonly Lock Gate = new();
                private static int s_orders;
                private static decimal s_total;

                static Telemetry()
                {
                    AppDomain.CurrentDomain.ProcessExit += static (s, e) => Flush();
                }

                public static void Track(Order order)
                {
                    lock (Gate)
                    {
                        s_orders++;
                        s_total += order.Total;
                    }
                }

                private static void Flush()
                {
                    lock (Gate)
                    {
                        Console.WriteLine($"{s_orders} orders, {s_total} in total");
                    }
                }
            }
            #endregion
            """));

    [Fact]
    public Task SR1002_Examples_FlaggedAndFixed() => Task.WhenAll(
        Verify.DocExampleAsync<WeakEventCapturingLambdaAnalyzer>(
            """
            #region docs-sr1002-flagged
            using SafeRefs.Events;

            public sealed class Badge
            {
                private int _count;

                public Badge(WeakEvent<EventArgs> changed)
                {
                    changed.Add((sender, e) => _count++);
                }
            }
            #endregion
            """,
            ("SR1002", "(sender, e) => _count++")),
        Verify.DocExampleAsync<WeakEventCapturingLambdaAnalyzer>(
            """
            #region docs-sr1002-fixed
            using SafeRefs.Events;

            public sealed class Badge
            {
                private int _count;

                public Badge(WeakEvent<EventArgs> changed)
                {
                    changed.Subscribe(this, static (owner, sender, e) => owner._count++);
                }
            }
            #endregion
            """));

    [Fact]
    public Task SR1003_Examples_FlaggedAndFixed() => Task.WhenAll(
        Verify.DocExampleAsync<UndisposedTimerAnalyzer>(
            """
            #region docs-sr1003-flagged
            public sealed class Poller
            {
                private int _ticks;

                public Poller()
                {
                    new Timer(_ => _ticks++, null, 0, 1000);
                }
            }
            #endregion
            """,
            ("SR1003", "new Timer(_ => _ticks++, null, 0, 1000);")),
        Verify.DocExampleAsync<UndisposedTimerAnalyzer>(
            """
            #region docs-sr1003-fixed
            using SafeRefs.Timers;

            public sealed class Poller : IDisposable
            {
                private readonly TimerScope _timers = new();
                private int _ticks;

                public Poller()
                {
                    _timers.Every(this, TimeSpan.FromSeconds(1), static owner => owner._ticks++);
                }

                public void Dispose() => _timers.Dispose();
            }
            #endregion
            """));

    [Fact]
    public Task SR1004_Examples_FlaggedAndFixed() => Task.WhenAll(
        Verify.DocExampleAsync<AddOnlyStaticCollectionAnalyzer>(
            """
            #region docs-sr1004-flagged
            public static class Lengths
            {
                private static readonly Dictionary<string, int> Cache = new();

                public static int Of(string key)
                {
                    if (!Cache.TryGetValue(key, out var length))
                    {
                        length = key.Length;
                        Cache[key] = length;
                    }

                    return length;
                }
            }
            #endregion
            """,
            ("SR1004", "Cache = new()")),
        Verify.DocExampleAsync<AddOnlyStaticCollectionAnalyzer>(
            """
            #region docs-sr1004-fixed
            using SafeRefs.Caching;

            public static class Lengths
            {
                private static readonly BoundedLruCache<string, int> Cache = new(capacity: 10_000);

                public static int Of(string key) => Cache.GetOrAdd(key, static k => k.Length);
            }
            #endregion
            """));

    [Fact]
    public Task SR1005_Examples_FlaggedAndFixed() => Task.WhenAll(
        Verify.DocExampleAsync<DiscardedRegistrationAnalyzer>(
            """
            #region docs-sr1005-flagged
            public sealed class Download
            {
                private bool _cancelled;

                public void Start(CancellationToken token)
                {
                    token.Register(() => _cancelled = true);
                }
            }
            #endregion
            """,
            ("SR1005", "token.Register(() => _cancelled = true);")),
        Verify.DocExampleAsync<DiscardedRegistrationAnalyzer>(
            """
            #region docs-sr1005-fixed
            using SafeRefs.Subscriptions;

            public sealed class Download : IDisposable
            {
                private readonly SubscriptionBag _subscriptions = new();
                private bool _cancelled;

                public void Start(CancellationToken token)
                {
                    Subscribe.OnCancel(token, static state => ((Download)state!)._cancelled = true, this)
                        .DisposeWith(_subscriptions);
                }

                public void Dispose() => _subscriptions.Dispose();
            }
            #endregion
            """),
        Verify.DocExampleAsync<DiscardedRegistrationAnalyzer>(
            """
            #region docs-sr1005-scoped
            public static class Waiter
            {
                public static async Task WaitAsync(Task work, CancellationToken token)
                {
                    using var registration = token.Register(static () => Console.WriteLine("cancelled"));
                    await work;
                }
            }
            #endregion
            """));

    [Fact]
    public Task SR1006_Examples_FlaggedAndFixed() => Task.WhenAll(
        Verify.DocExampleAsync<DiscardedRegistrationAnalyzer>(
            """
            #region docs-sr1006-flagged
            using Microsoft.Extensions.Primitives;

            public sealed class ReloadingView
            {
                private int _reloads;

                public ReloadingView(Func<IChangeToken?> producer)
                {
                    ChangeToken.OnChange(producer, () => _reloads++);
                }
            }
            #endregion
            """,
            ("SR1006", "ChangeToken.OnChange(producer, () => _reloads++);")),
        Verify.DocExampleAsync<DiscardedRegistrationAnalyzer>(
            """
            #region docs-sr1006-fixed
            using Microsoft.Extensions.Primitives;

            public sealed class ReloadingView : IDisposable
            {
                private readonly IDisposable _changeRegistration;
                private int _reloads;

                public ReloadingView(Func<IChangeToken?> producer)
                {
                    _changeRegistration = ChangeToken.OnChange(producer, () => _reloads++);
                }

                public void Dispose() => _changeRegistration.Dispose();
            }
            #endregion
            """));

    [Fact]
    public Task SR1007_Examples_FlaggedAndFixed() => Task.WhenAll(
        Verify.DocExampleAsync<DelayLoopAnalyzer>(
            """
            #region docs-sr1007-flagged
            public sealed class Heartbeat
            {
                private int _beats;

                public async Task RunAsync()
                {
                    while (true)
                    {
                        await Task.Delay(TimeSpan.FromSeconds(1));
                        _beats++;
                    }
                }
            }
            #endregion
            """,
            ("SR1007", "while (true)")),
        Verify.DocExampleAsync<DelayLoopAnalyzer>(
            """
            #region docs-sr1007-fixed
            using SafeRefs.Timers;

            public sealed class Heartbeat : IDisposable
            {
                private readonly TimerScope _timers = new();
                private int _beats;

                public void Start()
                {
                    _timers.Loop(this, TimeSpan.FromSeconds(1), static (owner, cancellationToken) =>
                    {
                        owner._beats++;
                        return ValueTask.CompletedTask;
                    });
                }

                public void Dispose() => _timers.Dispose();
            }
            #endregion
            """));

    [Fact]
    public Task SR1008_Examples_FlaggedAndFixed() => Task.WhenAll(
        Verify.DocExampleAsync<EventSubscriptionAnalyzer>(
            """
            #region docs-sr1008-flagged
            using Microsoft.Extensions.ObjectPool;

            public sealed class Client(ObjectPool<Connection> pool)
            {
                private int _closed;

                public void Send()
                {
                    var connection = pool.Get();
                    connection.Closed += OnClosed;
                    connection.Close();
                    pool.Return(connection);
                }

                private void OnClosed(object? sender, EventArgs e) => _closed++;
            }
            #endregion
            """,
            ("SR1008", "connection.Closed += OnClosed;")),
        Verify.DocExampleAsync<EventSubscriptionAnalyzer>(
            """
            #region docs-sr1008-fixed
            using Microsoft.Extensions.ObjectPool;

            public sealed class Client(ObjectPool<Connection> pool)
            {
                private int _closed;

                public void Send()
                {
                    var connection = pool.Get();
                    connection.Closed += OnClosed;
                    try
                    {
                        connection.Close();
                    }
                    finally
                    {
                        connection.Closed -= OnClosed;
                        pool.Return(connection);
                    }
                }

                private void OnClosed(object? sender, EventArgs e) => _closed++;
            }
            #endregion
            """));

    [Fact]
    public Task SR1009_Examples_FlaggedAndFixed() => Task.WhenAll(
        Verify.DocExampleAsync<EventSubscriptionAnalyzer>(
            """
            #region docs-sr1009-flagged
            public sealed class Editor(Settings settings)
            {
                private int _saves;

                public void Attach()
                {
                    settings.Saved += (s, e) => _saves++;
                }

                public void Detach()
                {
                    settings.Saved -= (s, e) => _saves++;
                }
            }
            #endregion
            """,
            ("SR1009", "settings.Saved -= (s, e) => _saves++;")),
        Verify.DocExampleAsync<EventSubscriptionAnalyzer>(
            """
            #region docs-sr1009-fixed
            public sealed class Editor
            {
                private readonly Settings _settings;
                private readonly EventHandler _onSaved;
                private int _saves;

                public Editor(Settings settings)
                {
                    _settings = settings;
                    _onSaved = (s, e) => _saves++;
                }

                public void Attach() => _settings.Saved += _onSaved;

                public void Detach() => _settings.Saved -= _onSaved;
            }
            #endregion
            """));

    [Fact]
    public Task SR1001_NotReportedExamples_Clean() => Task.WhenAll(
        Verify.DocExampleAsync<EventSubscriptionAnalyzer>(
            """
            #region docs-sr1001-singleton
            public sealed class ThemeWatcher
            {
                public static readonly ThemeWatcher Instance = new();
                private int _changes;

                private ThemeWatcher() => Settings.Default.Saved += OnSaved;

                public int Changes => _changes;

                private void OnSaved(object? sender, EventArgs e) => _changes++;
            }
            #endregion
            """));

    [Fact]
    public Task SR1004_NotReportedExamples_Clean() => Task.WhenAll(
        Verify.DocExampleAsync<AddOnlyStaticCollectionAnalyzer>(
            """
            #region docs-sr1004-metadata
            using System.Collections.Concurrent;
            using System.Reflection;

            public static class PropertyCache
            {
                private static readonly ConcurrentDictionary<Type, PropertyInfo[]> Properties = new();

                public static PropertyInfo[] Of(Type type) => Properties.GetOrAdd(type, static t => t.GetProperties());
            }
            #endregion
            """),
        Verify.DocExampleAsync<AddOnlyStaticCollectionAnalyzer>(
            """
            #region docs-sr1004-registry
            public static class Encoders
            {
                private static readonly Dictionary<string, Func<string, byte[]>> ByName = new(StringComparer.OrdinalIgnoreCase);

                static Encoders() => Register("utf-8", static s => System.Text.Encoding.UTF8.GetBytes(s));

                public static void Add(string name, Func<string, byte[]> encoder) => ByName.Add(name, encoder);

                public static byte[] Encode(string name, string text) => ByName[name](text);

                private static void Register(string name, Func<string, byte[]> encoder) => ByName[name] = encoder;
            }
            #endregion
            """));

    [Fact]
    public Task SR1005_NotReportedAndPerRequestExamples() => Task.WhenAll(
        Verify.DocExampleAsync<DiscardedRegistrationAnalyzer>(
            """
            #region docs-sr1005-run-once
            using Microsoft.Extensions.Hosting;

            public sealed class ShutdownLogger(IHostApplicationLifetime lifetime) : IHostedService
            {
                public Task StartAsync(CancellationToken cancellationToken)
                {
                    lifetime.ApplicationStopping.Register(static () => Console.WriteLine("stopping"));
                    return Task.CompletedTask;
                }

                public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
            }

            public static class CancellationTokenTasks
            {
                public static Task WhenCancelled(this CancellationToken token)
                {
                    var cancelled = new TaskCompletionSource();
                    token.Register(static state => ((TaskCompletionSource)state!).TrySetResult(), cancelled);
                    return cancelled.Task;
                }
            }
            #endregion
            """),
        Verify.DocExampleAsync<DiscardedRegistrationAnalyzer>(
            """
            #region docs-sr1005-per-request
            using Microsoft.Extensions.Hosting;

            public sealed class ReportHandler(IHostApplicationLifetime lifetime)
            {
                public Task HandleAsync(string reportId)
                {
                    lifetime.ApplicationStopping.Register(() => Console.WriteLine($"abandoning {reportId}"));
                    return Task.CompletedTask;
                }
            }
            #endregion
            """,
            ("SR1005", "lifetime.ApplicationStopping.Register(() => Console.WriteLine($\"abandoning {reportId}\"));")));

    [Fact]
    public Task SR1006_NotReportedExamples_Clean() => Task.WhenAll(
        Verify.DocExampleAsync<DiscardedRegistrationAnalyzer>(
            """
            #region docs-sr1006-singleton
            using Microsoft.Extensions.DependencyInjection;
            using Microsoft.Extensions.Options;

            public sealed class RetryOptions
            {
                public int Attempts { get; set; } = 3;
            }

            public sealed class RetryPolicy
            {
                public RetryPolicy(IOptionsMonitor<RetryOptions> options)
                {
                    Attempts = options.CurrentValue.Attempts;
                    options.OnChange(o => Attempts = o.Attempts);
                }

                public int Attempts { get; private set; }
            }

            public static class RetryRegistration
            {
                public static IServiceCollection AddRetry(this IServiceCollection services) => services.AddSingleton<RetryPolicy>();
            }
            #endregion
            """));

    [Fact]
    public Task SR1007_CapturedStateExample_Flagged() => Task.WhenAll(
        Verify.DocExampleAsync<DelayLoopAnalyzer>(
            """
            #region docs-sr1007-captured
            public sealed class SessionStore
            {
                public void Trim() { }
            }

            public static class Maintenance
            {
                public static void Start(SessionStore store)
                {
                    _ = Task.Run(async () =>
                    {
                        while (true)
                        {
                            await Task.Delay(TimeSpan.FromMinutes(5));
                            store.Trim();
                        }
                    });
                }
            }
            #endregion
            """,
            ("SR1007", "while (true)")));

    [Fact]
    public Task SR1010_Examples_FlaggedAndFixed() => Task.WhenAll(
        Verify.DocExampleAsync<WeakEventCapturingLambdaAnalyzer>(
            """
            #region docs-sr1010-flagged
            using SafeRefs.Subscriptions;

            public sealed class PriceFeed
            {
                public event EventHandler<EventArgs>? PriceChanged;

                public void Publish() => PriceChanged?.Invoke(this, EventArgs.Empty);
            }

            public sealed class Ticker : IDisposable
            {
                private readonly PriceFeed _feed;
                private readonly Subscription _subscription;
                private int _ticks;

                public Ticker(PriceFeed feed)
                {
                    _feed = feed;
                    _subscription = Subscribe.WeakEvent<PriceFeed, Ticker, EventArgs>(
                        _feed,
                        static (f, h) => f.PriceChanged += h,
                        (f, h) => _feed.PriceChanged -= h,
                        this,
                        static (owner, sender, e) => owner._ticks++);
                }

                public void Dispose() => _subscription.Dispose();
            }
            #endregion
            """,
            ("SR1010", "(f, h) => _feed.PriceChanged -= h")),
        Verify.DocExampleAsync<WeakEventCapturingLambdaAnalyzer>(
            """
            #region docs-sr1010-fixed
            using SafeRefs.Subscriptions;

            public sealed class PriceFeed
            {
                public event EventHandler<EventArgs>? PriceChanged;

                public void Publish() => PriceChanged?.Invoke(this, EventArgs.Empty);
            }

            public sealed class Ticker : IDisposable
            {
                private readonly Subscription _subscription;
                private int _ticks;

                public Ticker(PriceFeed feed)
                {
                    _subscription = Subscribe.WeakEvent<PriceFeed, Ticker, EventArgs>(
                        feed,
                        static (f, h) => f.PriceChanged += h,
                        static (f, h) => f.PriceChanged -= h,
                        this,
                        static (owner, sender, e) => owner._ticks++);
                }

                public void Dispose() => _subscription.Dispose();
            }
            #endregion
            """));

    [Fact]
    public Task SR1011_Examples_FlaggedAndFixed() => Task.WhenAll(
        Verify.DocExampleAsync<WeakEventDeclaringTypeAnalyzer>(
            """
            #region docs-sr1011-flagged
            using SafeRefs.Events;
            using SafeRefs.Subscriptions;

            public sealed class Thermometer
            {
                private static readonly ListenerBudget Budget = new(maxListeners: 50);

                private readonly WeakEvent<double> _changed = new(new WeakEventOptions { Budget = Budget, Name = "Changed" });

                public Subscription OnChanged<TOwner>(TOwner owner, Action<TOwner, object?, double> handler)
                    where TOwner : class => _changed.Subscribe(owner, handler);

                public void Set(double celsius) => _changed.Raise(this, celsius);
            }
            #endregion
            """,
            ("SR1011", "new WeakEventOptions { Budget = Budget, Name = \"Changed\" }")),
        Verify.DocExampleAsync<WeakEventDeclaringTypeAnalyzer>(
            """
            #region docs-sr1011-fixed
            using SafeRefs.Events;
            using SafeRefs.Subscriptions;

            public sealed class Thermometer
            {
                private static readonly ListenerBudget Budget = new(maxListeners: 50);

                private readonly WeakEvent<double> _changed = new(new WeakEventOptions { Budget = Budget, Name = "Changed", DeclaringType = typeof(Thermometer) });

                public Subscription OnChanged<TOwner>(TOwner owner, Action<TOwner, object?, double> handler)
                    where TOwner : class => _changed.Subscribe(owner, handler);

                public void Set(double celsius) => _changed.Raise(this, celsius);
            }
            #endregion
            """));
}
