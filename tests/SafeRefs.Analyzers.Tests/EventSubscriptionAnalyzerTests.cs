using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Testing;
using SafeRefs.Analyzers.CodeFixes;
using SafeRefs.Analyzers.Tests.Infrastructure;

namespace SafeRefs.Analyzers.Tests;

public sealed class EventSubscriptionAnalyzerTests
{
    private const string Sources = """
        using System;

        public static class AppEvents
        {
            public static event EventHandler? Changed;
            public static void Raise() => Changed?.Invoke(null, EventArgs.Empty);
        }

        public sealed class Settings
        {
            public static Settings Default { get; } = new();
            public static readonly Settings Shared = new();
            public event EventHandler? Saved;
            public void Save() => Saved?.Invoke(this, EventArgs.Empty);
        }

        """;

    // SR1001 ------------------------------------------------------------------------------------------------------

    [Fact]
    public Task SR1001_StaticEventAndStaticallyReachedSourceWithoutRemoval_Reports() =>
        Verify.AnalyzerAsync<EventSubscriptionAnalyzer>(Sources + """
            public sealed class View
            {
                private int _refreshes;

                public View()
                {
                    {|SR1001:AppEvents.Changed += OnChanged;|}
                    {|SR1001:Settings.Default.Saved += (s, e) => _refreshes++;|}
                }

                public void Attach()
                {
                    {|SR1001:Settings.Shared.Saved += OnChanged;|}
                }

                private void OnChanged(object? sender, EventArgs e) => _refreshes++;
            }
            """);

    [Fact]
    public Task SR1001_MatchingRemovalInDispose_DoesNotReport() =>
        Verify.AnalyzerAsync<EventSubscriptionAnalyzer>(Sources + """
            public sealed class View : IDisposable
            {
                private int _refreshes;

                public View() => AppEvents.Changed += OnChanged;

                public void Dispose() => AppEvents.Changed -= OnChanged;

                private void OnChanged(object? sender, EventArgs e) => _refreshes++;
            }
            """);

    [Fact]
    public Task SR1001_InstanceOwnedSource_DoesNotReport() =>
        Verify.AnalyzerAsync<EventSubscriptionAnalyzer>(Sources + """
            public sealed class View
            {
                private readonly Settings _settings = new();
                private int _refreshes;

                public View(Settings injected)
                {
                    _settings.Saved += OnChanged;
                    injected.Saved += OnChanged;
                    Own += OnChanged;
                }

                public event EventHandler? Own;

                private void OnChanged(object? sender, EventArgs e) => _refreshes++;
            }
            """);

    [Fact]
    public Task SR1001_StaticSubscriberOrStaticHandler_DoesNotReport() =>
        Verify.AnalyzerAsync<EventSubscriptionAnalyzer>(Sources + """
            public sealed class Startup
            {
                private static int s_count;

                static Startup() => AppEvents.Changed += Count;

                public Startup()
                {
                    AppEvents.Changed += Count;
                    AppEvents.Changed += static (s, e) => Console.WriteLine("changed");
                    Settings.Default.Saved += (s, e) => Console.WriteLine("saved");
                }

                public static void Configure() => Settings.Default.Saved += Count;

                private static void Count(object? sender, EventArgs e) => s_count++;
            }
            """);

    [Fact]
    public Task SR1001_StaticMemberWithRootingHandler_Reports() =>
        Verify.AnalyzerAsync<EventSubscriptionAnalyzer>(Sources + """
            public sealed class Order
            {
                public void Flush(object? sender, EventArgs e) { }
            }

            public static class Telemetry
            {
                public static void Track(Order order)
                {
                    {|SR1001:AppDomain.CurrentDomain.ProcessExit += (s, e) => Flush(order);|}
                }

                public static void Watch(Order order)
                {
                    {|SR1001:Settings.Default.Saved += order.Flush;|}
                    {|SR1001:AppEvents.Changed += new EventHandler(order.Flush);|}
                }

                public static Order Current
                {
                    set
                    {
                        {|SR1001:AppEvents.Changed += delegate { Flush(value); };|}
                    }
                }

                public static void Nested(Order order)
                {
                    Action attach = () => {|SR1001:Settings.Default.Saved += (s, e) => Flush(order)|};
                    attach();
                    Attach();

                    void Attach()
                    {
                        {|SR1001:Settings.Shared.Saved += Handler;|}
                    }

                    void Handler(object? sender, EventArgs e) => Flush(order);
                }

                public static void Indirect(Order order)
                {
                    {|SR1001:AppEvents.Changed += (s, e) => Report();|}

                    void Report() => Flush(order);
                }

                private static void Flush(Order order) => order.Flush(null, EventArgs.Empty);
            }

            public sealed class Service
            {
                public static void Track(string name)
                {
                    {|SR1001:AppEvents.Changed += (s, e) => Console.WriteLine(name);|}
                }
            }

            public struct Probe
            {
                public static void Track(int id) => {|SR1001:AppEvents.Changed += (s, e) => Console.WriteLine(id)|};
            }
            """);

    [Fact]
    public Task SR1001_Message_SaysWhatTheSourceKeepsAlive() =>
        Verify.AnalyzerAsync<EventSubscriptionAnalyzer>(
            Sources + """
            public sealed class View
            {
                private int _refreshes;

                public View(string name)
                {
                    {|#0:AppEvents.Changed += OnChanged;|}
                    {|#1:Settings.Default.Saved += (s, e) => Console.WriteLine(name);|}
                }

                public static void Track(string name)
                {
                    {|#2:Settings.Shared.Saved += (s, e) => Console.WriteLine(name);|}
                }

                private void OnChanged(object? sender, EventArgs e) => _refreshes++;
            }
            """,
            OutputKind.DynamicallyLinkedLibrary,
            new DiagnosticResult(Descriptors.SR1001).WithLocation(0).WithArguments("Changed", "View", "the source keeps every instance alive"),
            new DiagnosticResult(Descriptors.SR1001).WithLocation(1).WithArguments("Saved", "View", "every call adds a handler that keeps what it captures alive"),
            new DiagnosticResult(Descriptors.SR1001).WithLocation(2).WithArguments("Saved", "View", "every call adds a handler that keeps what it captures alive"));

    [Fact]
    public Task SR1001_StaticMemberLookAlikes_DoNotReport() =>
        Verify.AnalyzerAsync<EventSubscriptionAnalyzer>(Sources + """
            public static class Startup
            {
                private static readonly string Name = "startup";
                private static int s_count;

                static Startup()
                {
                    var local = Name;
                    AppEvents.Changed += (s, e) => Console.WriteLine(local);
                }

                public static void Configure()
                {
                    AppEvents.Changed += Count;
                    AppEvents.Changed += new EventHandler(Count);
                    AppEvents.Changed += (s, e) => Console.WriteLine(Name);
                    AppEvents.Changed += static (s, e) => Count(s, e);
                    Settings.Default.Saved += delegate { s_count++; };
                    Settings.Default.Saved += Local;
                    Settings.Default.Saved += StaticLocal;

                    AppEvents.Changed += (s, e) => Report(3);

                    void Local(object? sender, EventArgs e) => s_count++;
                    static void StaticLocal(object? sender, EventArgs e) => Console.WriteLine(sender);
                    void Report(int depth)
                    {
                        if (depth > 0)
                        {
                            Report(depth - 1);
                        }
                    }
                }

                public static void Forward(EventHandler handler) => AppEvents.Changed += handler;

                public static void Attach(Settings settings, string name) => settings.Saved += (s, e) => Console.WriteLine(name);

                [System.Runtime.CompilerServices.ModuleInitializer]
                internal static void Initialize()
                {
                    var local = Name;
                    Settings.Shared.Saved += (s, e) => Console.WriteLine(local);
                }

                private static void Count(object? sender, EventArgs e) => s_count++;
            }

            public static class Tracker
            {
                public static void Track(string name) => AppEvents.Changed += (s, e) => Console.WriteLine(name);

                public static void Reset(EventHandler handler) => AppEvents.Changed -= handler;
            }

            public static class Relay
            {
                public static event EventHandler? Changed
                {
                    add => AppEvents.Changed += value;
                    remove => AppEvents.Changed -= value;
                }
            }
            """);

    [Fact]
    public Task SR1001_TopLevelStatements_DoNotReport() =>
        Verify.AnalyzerAsync<EventSubscriptionAnalyzer>(
            "using System;\n\nvar name = args.Length > 0 ? args[0] : \"app\";\nAppDomain.CurrentDomain.ProcessExit += (s, e) => Console.WriteLine(name);\n"
            + Sources.Replace("using System;", string.Empty, StringComparison.Ordinal),
            OutputKind.ConsoleApplication);

    [Fact]
    public Task SR1001_InterfaceMembers_ReportLikeClassMembers() =>
        Verify.AnalyzerAsync<EventSubscriptionAnalyzer>(
            Sources + """
            public interface ITracker
            {
                int Count { get; set; }

                static void Track(string name)
                {
                    {|SR1001:AppDomain.CurrentDomain.ProcessExit += (s, e) => Console.WriteLine(name);|}
                }

                static void TrackQuietly()
                {
                    AppDomain.CurrentDomain.ProcessExit += static (s, e) => Console.WriteLine("exit");
                }

                void Attach()
                {
                    {|SR1001:Settings.Default.Saved += (s, e) => Count++;|}
                }
            }

            public interface IDetaching
            {
                void OnSaved(object? sender, EventArgs e);

                void Attach() => Settings.Default.Saved += OnSaved;

                void Detach() => Settings.Default.Saved -= OnSaved;
            }
            """,
            OutputKind.DynamicallyLinkedLibrary);

    [Fact]
    public Task SR1001_MainMethod_DoesNotReport() =>
        Verify.AnalyzerAsync<EventSubscriptionAnalyzer>(
            Sources + """
            public static class Program
            {
                public static void Main(string[] args)
                {
                    var name = args.Length > 0 ? args[0] : "app";
                    AppDomain.CurrentDomain.ProcessExit += (s, e) => Console.WriteLine(name);
                }
            }
            """,
            OutputKind.ConsoleApplication);

    [Fact]
    public Task SR1001_InstanceMemberLocalFunctionHandler_ReportsOnlyWhenItCaptures() =>
        Verify.AnalyzerAsync<EventSubscriptionAnalyzer>(
            Sources + """
            public sealed class View
            {
                private int _refreshes;

                public View(string name)
                {
                    AppEvents.Changed += Quiet;
                    {|SR1001:Settings.Default.Saved += UsesThis;|}
                    {|SR1001:Settings.Shared.Saved += UsesName;|}
                    {|#0:AppEvents.Changed += (s, e) => Refresh();|}

                    void Quiet(object? sender, EventArgs e) => Console.WriteLine(sender);
                    void UsesThis(object? sender, EventArgs e) => _refreshes++;
                    void UsesName(object? sender, EventArgs e) => Console.WriteLine(name);
                    void Refresh() => UsesThis(null, EventArgs.Empty);
                }
            }
            """,
            OutputKind.DynamicallyLinkedLibrary,
            new DiagnosticResult(Descriptors.SR1001).WithLocation(0).WithArguments("Changed", "View", "the source keeps every instance alive"));

    // SR1001 has no code fix. Any fix would keep the subscription in an instance-owned SubscriptionBag or field, which a
    // static member does not have, so no provider may offer anything there: checked against every provider we ship.
    [Fact]
    public async Task SR1001_StaticMember_NoCodeFixOffered()
    {
        const string source = Sources + """
            public sealed class Sink
            {
                public void OnSaved(object? sender, EventArgs e) { }
            }

            public static class Telemetry
            {
                public static void Track(string name)
                {
                    {|SR1001:AppDomain.CurrentDomain.ProcessExit += (s, e) => Console.WriteLine(name);|}
                }

                public static void Watch(Sink sink)
                {
                    {|SR1001:Settings.Default.Saved += sink.OnSaved;|}
                }
            }
            """;
        // The subscription-side fixes do not apply to static members. The declaration-side fix that makes the event a
        // [WeakEvent] applies whoever subscribes; WeakEventAttributeCodeFixTests covers it.
        var providers = typeof(WeakEventSubscribeCodeFixProvider).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(CodeFixProvider).IsAssignableFrom(t) && t != typeof(WeakEventAttributeCodeFixProvider))
            .ToList();
        Assert.NotEmpty(providers);
        var verify = typeof(Verify).GetMethod(nameof(Verify.CodeFixAsync))!;
        foreach (var provider in providers)
        {
            var run = verify.MakeGenericMethod(typeof(EventSubscriptionAnalyzer), provider);
            await (Task)run.Invoke(null, [source, source, null, 0])!;
        }
    }

    // Pattern 5: code that runs once per process. A static Main in a library (tools, samples that are not the entry
    // point of this compilation) and a private-constructor singleton created by a static initializer (eager, lazy
    // through Lazy<T> or `??=`, or through a nested holder class).
    private const string RunOnceSubscribers = """
        public static class Tool
        {
            public static void Main(string[] args)
            {
                var name = args.Length > 0 ? args[0] : "tool";
                AppDomain.CurrentDomain.ProcessExit += (s, e) => Console.WriteLine(name);
            }
        }

        public sealed class Theme
        {
            public static readonly Theme Current = new();
            private int _changes;

            private Theme()
            {
                AppEvents.Changed += OnChanged;
            }

            public void Follow(Settings settings) => Settings.Default.Saved += (s, e) => _changes++;

            private void OnChanged(object? sender, EventArgs e) => _changes++;
        }

        public sealed class Clock
        {
            private static readonly Lazy<Clock> Lazy = new(() => new Clock());
            private int _ticks;

            private Clock(string zone = "utc")
            {
                AppEvents.Changed += (s, e) => Console.WriteLine(zone);
            }

            public static Clock Instance => Lazy.Value;

            public void Start() => Settings.Shared.Saved += Tick;

            private void Tick(object? sender, EventArgs e) => _ticks++;
        }

        public sealed class Registry
        {
            private static Registry? s_instance;
            private int _saves;

            private Registry() => Settings.Default.Saved += (s, e) => _saves++;

            public static Registry Instance => s_instance ??= new Registry();
        }
        """;

    [Fact]
    public Task SR1001_RunOncePerProcessCode_DoesNotReport() =>
        Verify.AnalyzerAsync<EventSubscriptionAnalyzer>(Sources + RunOnceSubscribers);

    [Fact]
    public Task SR1001_SingletonsInStrictMode_Report() =>
        Verify.AnalyzerWithConfigAsync<EventSubscriptionAnalyzer>(
            Sources + RunOnceSubscribers
                .Replace("AppEvents.Changed += OnChanged;", "{|SR1001:AppEvents.Changed += OnChanged;|}", StringComparison.Ordinal)
                .Replace("=> Settings.Default.Saved += (s, e) => _changes++;", "=> {|SR1001:Settings.Default.Saved += (s, e) => _changes++|};", StringComparison.Ordinal)
                .Replace("AppEvents.Changed += (s, e) => Console.WriteLine(zone);", "{|SR1001:AppEvents.Changed += (s, e) => Console.WriteLine(zone);|}", StringComparison.Ordinal)
                .Replace("=> Settings.Shared.Saved += Tick;", "=> {|SR1001:Settings.Shared.Saved += Tick|};", StringComparison.Ordinal)
                .Replace("=> Settings.Default.Saved += (s, e) => _saves++;", "=> {|SR1001:Settings.Default.Saved += (s, e) => _saves++|};", StringComparison.Ordinal),
            "saferefs.SR1001.mode = strict");

    // The leaky neighbours of pattern 5: a private constructor behind a factory (a new instance per call), a type also
    // created outside its static initializer, and a singleton's method whose handler captures a parameter (every call
    // adds one more handler).
    [Fact]
    public Task SR1001_SingletonLookAlikes_Report() =>
        Verify.AnalyzerAsync<EventSubscriptionAnalyzer>(Sources + """
            public sealed class Session
            {
                private int _saves;

                private Session() => {|SR1001:Settings.Default.Saved += (s, e) => _saves++|};

                public static Session Create() => new();
            }

            public sealed class Palette
            {
                public static readonly Palette Default = new();
                private int _changes;

                private Palette() => {|SR1001:AppEvents.Changed += (s, e) => _changes++|};

                public static Palette Copy() => new();
            }

            public sealed class Journal
            {
                public static readonly Journal Instance = new();

                private Journal()
                {
                }

                public void Track(string name) => {|SR1001:AppEvents.Changed += (s, e) => Console.WriteLine(name)|};
            }
            """);

    // Pattern 5 in services: a DI singleton (registered in the same compilation) or a hosted service lives as long as
    // the host; its constructor, and a hosted service's StartAsync/ExecuteAsync, run once. Shapes as hosted apps write
    // them: a settings watcher registered with AddSingleton, a BackgroundService following a static event.
    private const string ServiceUsings = """
        using System.Threading;
        using System.Threading.Tasks;
        using Microsoft.Extensions.DependencyInjection;
        using Microsoft.Extensions.Hosting;

        """;

    private const string ServiceSubscribers = """
        public interface IThemeSource
        {
        }

        public sealed class ThemeWatcher : IThemeSource
        {
            private int _changes;

            public ThemeWatcher(string zone)
            {
                AppEvents.Changed += OnChanged;
                Settings.Default.Saved += (s, e) => Console.WriteLine(zone);
            }

            private void OnChanged(object? sender, EventArgs e) => _changes++;
        }

        public sealed class SaveCounter
        {
            private int _saves;

            public SaveCounter() => Settings.Shared.Saved += (s, e) => _saves++;
        }

        public sealed class Heartbeat : BackgroundService
        {
            private int _beats;

            protected override Task ExecuteAsync(CancellationToken stoppingToken)
            {
                var name = "beat";
                AppEvents.Changed += (s, e) => Console.WriteLine(name + _beats++);
                return Task.CompletedTask;
            }
        }

        public sealed class Warmup : IHostedService
        {
            private int _saves;

            public Task StartAsync(CancellationToken cancellationToken)
            {
                Settings.Default.Saved += OnSaved;
                return Task.CompletedTask;
            }

            public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

            private void OnSaved(object? sender, EventArgs e) => _saves++;
        }

        public static class Composition
        {
            public static void AddServices(IServiceCollection services)
            {
                services.AddSingleton<IThemeSource, ThemeWatcher>();
                services.AddSingleton<SaveCounter>(sp => new SaveCounter());
                services.AddHostedService<Heartbeat>();
            }
        }
        """;

    [Fact]
    public Task SR1001_DiSingletonsAndHostedServices_DoNotReport() =>
        Verify.AnalyzerAsync<EventSubscriptionAnalyzer>(ServiceUsings + Sources + ServiceSubscribers);

    [Fact]
    public Task SR1001_DiSingletonsAndHostedServicesInStrictMode_Report() =>
        Verify.AnalyzerWithConfigAsync<EventSubscriptionAnalyzer>(
            ServiceUsings + Sources + ServiceSubscribers
                .Replace("AppEvents.Changed += OnChanged;", "{|SR1001:AppEvents.Changed += OnChanged;|}", StringComparison.Ordinal)
                .Replace("Settings.Default.Saved += (s, e) => Console.WriteLine(zone);", "{|SR1001:Settings.Default.Saved += (s, e) => Console.WriteLine(zone);|}", StringComparison.Ordinal)
                .Replace("=> Settings.Shared.Saved += (s, e) => _saves++;", "=> {|SR1001:Settings.Shared.Saved += (s, e) => _saves++|};", StringComparison.Ordinal)
                .Replace("AppEvents.Changed += (s, e) => Console.WriteLine(name + _beats++);", "{|SR1001:AppEvents.Changed += (s, e) => Console.WriteLine(name + _beats++);|}", StringComparison.Ordinal)
                .Replace("Settings.Default.Saved += OnSaved;", "{|SR1001:Settings.Default.Saved += OnSaved;|}", StringComparison.Ordinal),
            "saferefs.SR1001.mode = strict");

    // The leaky neighbours: the same watcher registered as scoped (one per request, each rooted by the static event),
    // a type that is not registered at all, and a singleton's per-call method whose handler captures its argument.
    [Fact]
    public Task SR1001_ScopedOrUnregisteredServices_AndPerCallSubscriptionsInASingleton_Report() =>
        Verify.AnalyzerAsync<EventSubscriptionAnalyzer>("using Microsoft.Extensions.DependencyInjection;\n" + Sources + """
            public sealed class RequestAudit
            {
                private int _changes;

                public RequestAudit() => {|SR1001:AppEvents.Changed += (s, e) => _changes++|};
            }

            public sealed class Unregistered
            {
                private int _saves;

                public Unregistered() => {|SR1001:Settings.Default.Saved += (s, e) => _saves++|};
            }

            public sealed class PriceBoard
            {
                public void Track(string symbol) => {|SR1001:AppEvents.Changed += (s, e) => Console.WriteLine(symbol)|};
            }

            public static class Composition
            {
                public static void AddServices(IServiceCollection services)
                {
                    services.AddScoped<RequestAudit>();
                    services.AddSingleton<PriceBoard>();
                }
            }
            """);

    // SR1008 ------------------------------------------------------------------------------------------------------

    private const string PoolSources = """
        using System;
        using Microsoft.Extensions.ObjectPool;

        public sealed class Connection
        {
            public event EventHandler? Closed;
            public void Close() => Closed?.Invoke(this, EventArgs.Empty);
        }

        public sealed class Registry
        {
            public Connection Get() => new();
        }

        """;

    [Fact]
    public Task SR1008_HandlerOnRentedObjectNeverRemoved_Reports() =>
        Verify.AnalyzerAsync<EventSubscriptionAnalyzer>(PoolSources + """
            public sealed class Client(ObjectPool<Connection> pool)
            {
                private int _closed;

                public void Send()
                {
                    var connection = pool.Get();
                    {|SR1008:connection.Closed += OnClosed;|}
                    connection.Close();
                    pool.Return(connection);
                }

                public void SendInline()
                {
                    {|SR1008:pool.Get().Closed += OnClosed;|}
                }

                private void OnClosed(object? sender, EventArgs e) => _closed++;
            }
            """);

    [Fact]
    public Task SR1008_LookAlikes_DoNotReport() =>
        Verify.AnalyzerAsync<EventSubscriptionAnalyzer>(PoolSources + """
            public sealed class Client(ObjectPool<Connection> pool, Registry registry)
            {
                private int _closed;

                public void RemovedBeforeReturn()
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

                public void FreshObject()
                {
                    var connection = new Connection();
                    connection.Closed += OnClosed;
                    connection.Close();
                }

                public void NotAnObjectPool()
                {
                    var connection = registry.Get();
                    connection.Closed += OnClosed;
                }

                private void OnClosed(object? sender, EventArgs e) => _closed++;
            }
            """);

    // SR1009 ------------------------------------------------------------------------------------------------------

    [Fact]
    public Task SR1009_RemoveWithNewLambda_Reports() =>
        Verify.AnalyzerAsync<EventSubscriptionAnalyzer>(Sources + """
            public sealed class View(Settings settings)
            {
                private int _saves;

                public void Detach()
                {
                    {|SR1009:settings.Saved -= (s, e) => _saves++;|}
                    {|SR1009:settings.Saved -= new EventHandler(delegate { _saves++; });|}
                }
            }
            """);

    [Fact]
    public Task SR1009_RemoveWithStoredOrMethodGroupHandler_DoesNotReport() =>
        Verify.AnalyzerAsync<EventSubscriptionAnalyzer>(Sources + """
            public sealed class View
            {
                private readonly Settings _settings;
                private readonly EventHandler _handler;
                private int _saves;

                public View(Settings settings)
                {
                    _settings = settings;
                    _handler = (s, e) => _saves++;
                    _settings.Saved += _handler;
                    _settings.Saved += OnSaved;
                    _settings.Saved += (s, e) => _saves++;
                }

                public void Detach()
                {
                    EventHandler local = OnSaved;
                    _settings.Saved -= _handler;
                    _settings.Saved -= OnSaved;
                    _settings.Saved -= new EventHandler(OnSaved);
                    _settings.Saved -= local;
                }

                private void OnSaved(object? sender, EventArgs e) => _saves++;
            }
            """);
}
