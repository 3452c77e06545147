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
