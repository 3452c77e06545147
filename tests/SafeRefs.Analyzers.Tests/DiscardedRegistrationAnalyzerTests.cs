using SafeRefs.Analyzers.CodeFixes;
using SafeRefs.Analyzers.Tests.Infrastructure;

namespace SafeRefs.Analyzers.Tests;

public sealed class DiscardedRegistrationAnalyzerTests
{
    // SR1005 ------------------------------------------------------------------------------------------------------

    [Fact]
    public Task SR1005_DiscardedRegistrationOnForeignToken_Reports() =>
        Verify.AnalyzerAsync<DiscardedRegistrationAnalyzer>("""
            using System;
            using System.Threading;

            public sealed class Worker
            {
                private int _cancelled;

                public void Watch(CancellationToken token)
                {
                    {|SR1005:token.Register(() => _cancelled++);|}
                    {|SR1005:_ = token.UnsafeRegister(static state => Console.WriteLine(state), "x");|}
                }

                public void WatchUndisposedSource()
                {
                    var cts = new CancellationTokenSource();
                    {|SR1005:cts.Token.Register(() => _cancelled++);|}
                    cts.Cancel();
                }
            }
            """);

    [Fact]
    public Task SR1005_KeptOwnedOrEmptyToken_DoesNotReport() =>
        Verify.AnalyzerAsync<DiscardedRegistrationAnalyzer>("""
            using System;
            using System.Threading;

            public sealed class Worker : IDisposable
            {
                private readonly CancellationTokenSource _lifetime = new();
                private CancellationTokenRegistration _registration;
                private int _cancelled;

                public void OwnField() => _lifetime.Token.Register(() => _cancelled++);

                public void Keep(CancellationToken token) => _registration = token.Register(() => _cancelled++);

                public void Scoped(CancellationToken token)
                {
                    using var registration = token.Register(() => _cancelled++);
                    Console.WriteLine(registration.Token.IsCancellationRequested);
                }

                public void OwnSource(CancellationToken outer)
                {
                    using var cts = CancellationTokenSource.CreateLinkedTokenSource(outer);
                    cts.Token.Register(() => _cancelled++);
                    var token = cts.Token;
                    token.Register(() => _cancelled++);
                    var other = new CancellationTokenSource();
                    other.Token.Register(() => _cancelled++);
                    other.Dispose();
                }

                public void Nothing()
                {
                    CancellationToken.None.Register(() => _cancelled++);
                    default(CancellationToken).Register(() => _cancelled++);
                }

                public CancellationTokenRegistration Returned(CancellationToken token) => token.Register(() => _cancelled++);

                public void Dispose()
                {
                    _registration.Dispose();
                    _lifetime.Dispose();
                }
            }
            """);

    [Fact]
    public Task SR1005_CodeFixInMethod_UsesUsingDeclaration() =>
        Verify.CodeFixAsync<DiscardedRegistrationAnalyzer, DisposableResultCodeFixProvider>(
            """
            using System.Threading;
            using System.Threading.Tasks;

            public static class Waiter
            {
                public static async Task WaitAsync(Task work, CancellationToken token)
                {
                    var registration = 1;
                    {|SR1005:token.Register(() => System.Console.WriteLine(registration));|}
                    await work;
                }
            }
            """,
            """
            using System.Threading;
            using System.Threading.Tasks;

            public static class Waiter
            {
                public static async Task WaitAsync(Task work, CancellationToken token)
                {
                    var registration = 1;
                    using var registration2 = token.Register(() => System.Console.WriteLine(registration));
                    await work;
                }
            }
            """,
            "UseUsingAsync");

    [Fact]
    public Task SR1005_CodeFixWithExistingDispose_AddsFieldAndDisposesIt() =>
        Verify.CodeFixAsync<DiscardedRegistrationAnalyzer, DisposableResultCodeFixProvider>(
            """
            using System;
            using System.Threading;

            public sealed class Worker : IDisposable
            {
                private int _cancelled;

                public void Watch(CancellationToken token)
                {
                    {|SR1005:token.Register(() => _cancelled++);|}
                }

                public void Dispose()
                {
                    Console.WriteLine(_cancelled);
                }
            }
            """,
            """
            using System;
            using System.Threading;

            public sealed class Worker : IDisposable
            {
                private CancellationTokenRegistration _registration;
                private int _cancelled;

                public void Watch(CancellationToken token)
                {
                    _registration = token.Register(() => _cancelled++);
                }

                public void Dispose()
                {
                    _registration.Dispose();
                    Console.WriteLine(_cancelled);
                }
            }
            """,
            "FieldPlan");

    // Pattern 3: host lifetime tokens from run-once code. Shapes from hosted-service samples and libraries: the three
    // lifetime tokens registered in StartAsync or a hosted service's constructor, BackgroundService's stoppingToken in
    // ExecuteAsync, Startup.Configure, a start-up filter, and the entry point.
    private const string RunOnceRegistrations = """
        using System;
        using System.Threading;
        using System.Threading.Tasks;
        using Microsoft.AspNetCore.Builder;
        using Microsoft.Extensions.Hosting;

        public sealed class LifetimeEvents(IHostApplicationLifetime lifetime) : IHostedService
        {
            public Task StartAsync(CancellationToken cancellationToken)
            {
                lifetime.ApplicationStarted.Register(OnStarted);
                lifetime.ApplicationStopping.Register(OnStopping);
                lifetime.ApplicationStopped.Register(() => Console.WriteLine("stopped"));
                cancellationToken.Register(() => Console.WriteLine("start cancelled"));
                return Task.CompletedTask;
            }

            public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

            private void OnStarted() => Console.WriteLine("started");

            private void OnStopping() => Console.WriteLine("stopping");
        }

        public sealed class Warmup : IHostedService
        {
            private int _stops;

            public Warmup(IHostApplicationLifetime lifetime) => lifetime.ApplicationStopping.Register(() => _stops++);

            public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

            public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        }

        public sealed class Pump : BackgroundService
        {
            private int _drained;

            protected override async Task ExecuteAsync(CancellationToken stoppingToken)
            {
                stoppingToken.Register(() => _drained++);
                await Task.Delay(Timeout.Infinite, stoppingToken);
            }
        }

        public sealed class Startup
        {
            public void Configure(IApplicationBuilder app, IHostApplicationLifetime lifetime)
            {
                lifetime.ApplicationStopping.Register(() => Console.WriteLine("draining"));
            }
        }

        public static class Program
        {
            public static void Main(string[] args)
            {
                var cts = new CancellationTokenSource();
                Console.CancelKeyPress += (s, e) => cts.Cancel();
                cts.Token.Register(() => Console.WriteLine("bye " + args.Length));
            }
        }
        """;

    [Fact]
    public Task SR1005_HostLifetimeTokensInRunOnceCode_DoNotReport() =>
        Verify.AnalyzerAsync<DiscardedRegistrationAnalyzer>(RunOnceRegistrations);

    [Fact]
    public Task SR1005_HostLifetimeTokensInRunOnceCodeInStrictMode_Report() =>
        Verify.AnalyzerWithConfigAsync<DiscardedRegistrationAnalyzer>(
            RunOnceRegistrations
                .Replace("lifetime.ApplicationStarted.Register(OnStarted);", "{|SR1005:lifetime.ApplicationStarted.Register(OnStarted);|}", StringComparison.Ordinal)
                .Replace("lifetime.ApplicationStopping.Register(OnStopping);", "{|SR1005:lifetime.ApplicationStopping.Register(OnStopping);|}", StringComparison.Ordinal)
                .Replace("lifetime.ApplicationStopped.Register(() => Console.WriteLine(\"stopped\"));", "{|SR1005:lifetime.ApplicationStopped.Register(() => Console.WriteLine(\"stopped\"));|}", StringComparison.Ordinal)
                .Replace("cancellationToken.Register(() => Console.WriteLine(\"start cancelled\"));", "{|SR1005:cancellationToken.Register(() => Console.WriteLine(\"start cancelled\"));|}", StringComparison.Ordinal)
                .Replace("=> lifetime.ApplicationStopping.Register(() => _stops++);", "=> {|SR1005:lifetime.ApplicationStopping.Register(() => _stops++)|};", StringComparison.Ordinal)
                .Replace("stoppingToken.Register(() => _drained++);", "{|SR1005:stoppingToken.Register(() => _drained++);|}", StringComparison.Ordinal)
                .Replace("lifetime.ApplicationStopping.Register(() => Console.WriteLine(\"draining\"));", "{|SR1005:lifetime.ApplicationStopping.Register(() => Console.WriteLine(\"draining\"));|}", StringComparison.Ordinal)
                .Replace("cts.Token.Register(() => Console.WriteLine(\"bye \" + args.Length));", "{|SR1005:cts.Token.Register(() => Console.WriteLine(\"bye \" + args.Length));|}", StringComparison.Ordinal),
            "saferefs.SR1005.mode = strict");

    // The leaky neighbours of pattern 3: the same lifetime registration in a scoped service's per-request method, in
    // a middleware lambda (runs per request), in a loop of ExecuteAsync, and in a hosted service's non-start method.
    [Fact]
    public Task SR1005_HostLifetimeTokensOnPerRequestPaths_Report() =>
        Verify.AnalyzerAsync<DiscardedRegistrationAnalyzer>("""
            using System;
            using System.Threading;
            using System.Threading.Tasks;
            using Microsoft.AspNetCore.Builder;
            using Microsoft.Extensions.Hosting;

            public sealed class OrderHandler(IHostApplicationLifetime lifetime)
            {
                private int _aborted;

                public Task HandleAsync(string orderId)
                {
                    {|SR1005:lifetime.ApplicationStopping.Register(() => _aborted += orderId.Length);|}
                    return Task.CompletedTask;
                }
            }

            public sealed class Startup
            {
                public void Configure(IApplicationBuilder app, IHostApplicationLifetime lifetime)
                {
                    app.Use(next => () =>
                    {
                        {|SR1005:lifetime.ApplicationStopping.Register(() => Console.WriteLine("request aborted"));|}
                        return next();
                    });
                }
            }

            public sealed class Poller : BackgroundService
            {
                private int _stops;

                protected override async Task ExecuteAsync(CancellationToken stoppingToken)
                {
                    while (!stoppingToken.IsCancellationRequested)
                    {
                        {|SR1005:stoppingToken.Register(() => _stops++);|}
                        await Task.Delay(1000, stoppingToken);
                    }
                }

                public void Poke(CancellationToken token)
                {
                    {|SR1005:token.Register(() => _stops++);|}
                }
            }
            """);

    // Pattern 4: token-to-Task adapters (the callback completes a TaskCompletionSource whose Task the method returns
    // or awaits) and tokens the object owns (a token property of this object).
    private const string AdaptersAndOwnTokens = """
        using System;
        using System.Threading;
        using System.Threading.Tasks;

        public static class TaskExtensions
        {
            public static Task AsTask(this CancellationToken token)
            {
                var tcs = new TaskCompletionSource();
                token.Register(() => tcs.TrySetResult());
                return tcs.Task;
            }

            public static async Task<T> WaitOrCancelAsync<T>(Task<T> task, CancellationToken token)
            {
                var cancelled = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
                token.Register(static state => ((TaskCompletionSource<T>)state!).TrySetCanceled(), cancelled);
                return await await Task.WhenAny(task, cancelled.Task);
            }

            public static Task<int> WithCancellation(this TaskCompletionSource<int> source, CancellationToken token)
            {
                token.Register(source.SetCanceled);
                return source.Task;
            }
        }

        public sealed class Connection : IDisposable
        {
            private readonly CancellationTokenSource _closed = new();
            private int _pending;

            public CancellationToken ConnectionClosed => _closed.Token;

            public void Track()
            {
                ConnectionClosed.Register(() => _pending = 0);
                var closed = this.ConnectionClosed;
                closed.Register(() => _pending--);
            }

            public void Dispose() => _closed.Dispose();
        }
        """;

    [Fact]
    public Task SR1005_TaskAdaptersAndOwnTokens_DoNotReport() =>
        Verify.AnalyzerAsync<DiscardedRegistrationAnalyzer>(AdaptersAndOwnTokens);

    [Fact]
    public Task SR1005_TaskAdaptersAndOwnTokensInStrictMode_Report() =>
        Verify.AnalyzerWithConfigAsync<DiscardedRegistrationAnalyzer>(
            AdaptersAndOwnTokens
                .Replace("token.Register(() => tcs.TrySetResult());", "{|SR1005:token.Register(() => tcs.TrySetResult());|}", StringComparison.Ordinal)
                .Replace("token.Register(static state => ((TaskCompletionSource<T>)state!).TrySetCanceled(), cancelled);", "{|SR1005:token.Register(static state => ((TaskCompletionSource<T>)state!).TrySetCanceled(), cancelled);|}", StringComparison.Ordinal)
                .Replace("token.Register(source.SetCanceled);", "{|SR1005:token.Register(source.SetCanceled);|}", StringComparison.Ordinal)
                .Replace("ConnectionClosed.Register(() => _pending = 0);", "{|SR1005:ConnectionClosed.Register(() => _pending = 0);|}", StringComparison.Ordinal)
                .Replace("closed.Register(() => _pending--);", "{|SR1005:closed.Register(() => _pending--);|}", StringComparison.Ordinal),
            "saferefs.SR1005.mode = strict");

    // The leaky neighbours of pattern 4: a completion source whose task nobody returns or awaits, a callback that does
    // something else while the task is awaited, a token of another object, and a local source never disposed.
    [Fact]
    public Task SR1005_NeighboursOfAdaptersAndOwnTokens_Report() =>
        Verify.AnalyzerAsync<DiscardedRegistrationAnalyzer>("""
            using System;
            using System.Threading;
            using System.Threading.Tasks;

            public sealed class Connection
            {
                public CancellationToken ConnectionClosed { get; }
            }

            public sealed class Client
            {
                private int _cancelled;

                public void Fire(CancellationToken token)
                {
                    var tcs = new TaskCompletionSource();
                    {|SR1005:token.Register(() => tcs.TrySetCanceled());|}
                }

                public async Task WaitAsync(Task work, CancellationToken token)
                {
                    var tcs = new TaskCompletionSource();
                    {|SR1005:token.Register(() => _cancelled++);|}
                    await Task.WhenAny(work, tcs.Task);
                }

                public void Watch(Connection connection)
                {
                    {|SR1005:connection.ConnectionClosed.Register(() => _cancelled++);|}
                }
            }
            """);

    // SR1006 ------------------------------------------------------------------------------------------------------

    private const string ChangeHeader = """
        using System;
        using Microsoft.Extensions.Options;
        using Microsoft.Extensions.Primitives;

        public sealed class Options
        {
            public int Size { get; set; }
        }

        """;

    [Fact]
    public Task SR1006_DiscardedChangeRegistrations_Reports() =>
        Verify.AnalyzerAsync<DiscardedRegistrationAnalyzer>(ChangeHeader + """
            public sealed class Consumer
            {
                private int _reloads;

                public Consumer(Func<IChangeToken?> producer, IOptionsMonitor<Options> monitor)
                {
                    {|SR1006:ChangeToken.OnChange(producer, () => _reloads++);|}
                    {|SR1006:monitor.OnChange(o => _reloads += o.Size);|}
                    {|SR1006:_ = monitor.OnChange((o, name) => _reloads++);|}
                }
            }
            """);

    [Fact]
    public Task SR1006_KeptOrForeignOnChange_DoesNotReport() =>
        Verify.AnalyzerAsync<DiscardedRegistrationAnalyzer>(ChangeHeader + """
            public sealed class Settings
            {
                public IDisposable OnChange(Action listener) => new SafeRefs.Subscriptions.Subscription();
            }

            public sealed class Consumer : IDisposable
            {
                private readonly IDisposable _registration;
                private readonly SafeRefs.Subscriptions.SubscriptionBag _bag = new();
                private int _reloads;

                public Consumer(Func<IChangeToken?> producer, IOptionsMonitor<Options> monitor, Settings settings)
                {
                    _registration = ChangeToken.OnChange(producer, () => _reloads++);
                    _bag.Add(monitor.OnChange(o => _reloads++)!);
                    using var scoped = monitor.OnChange((o, name) => _reloads++);
                    settings.OnChange(() => _reloads++);
                }

                public void Dispose()
                {
                    _registration.Dispose();
                    _bag.Dispose();
                }
            }
            """);

    [Fact]
    public Task SR1006_CodeFixInConstructor_AddsFieldAndDispose() =>
        Verify.CodeFixAsync<DiscardedRegistrationAnalyzer, DisposableResultCodeFixProvider>(
            ChangeHeader + """
            public sealed class Consumer
            {
                private int _reloads;

                public Consumer(Func<IChangeToken?> producer)
                {
                    {|SR1006:ChangeToken.OnChange(producer, () => _reloads++);|}
                }
            }
            """,
            ChangeHeader + """
            public sealed class Consumer : IDisposable
            {
                private readonly IDisposable _changeRegistration;
                private int _reloads;

                public Consumer(Func<IChangeToken?> producer)
                {
                    _changeRegistration = ChangeToken.OnChange(producer, () => _reloads++);
                }

                public void Dispose()
                {
                    _changeRegistration?.Dispose();
                }
            }
            """,
            "FieldPlan");

    // Pattern 5: IOptionsMonitor.OnChange / ChangeToken.OnChange in the constructor of a DI singleton registered in
    // the same compilation (AddSingleton<T>(), AddSingleton<I, T>(), a factory, a hosted service): it listens exactly
    // as long as the container.
    private const string DiHeader = "using Microsoft.Extensions.DependencyInjection;\n";

    private const string Singletons = """
        public interface IRateLimiter
        {
        }

        public sealed class RateLimiter : IRateLimiter
        {
            private int _limit;

            public RateLimiter(IOptionsMonitor<Options> monitor) => monitor.OnChange(o => _limit = o.Size);
        }

        public sealed class FeatureFlags
        {
            private int _reloads;

            public FeatureFlags(Func<IChangeToken?> producer)
            {
                ChangeToken.OnChange(producer, () => _reloads++);
            }
        }

        public sealed class Reporter
        {
            private int _size;

            public Reporter(IOptionsMonitor<Options> monitor, string name)
            {
                monitor.OnChange((o, n) => _size = o.Size + name.Length);
            }
        }

        public sealed class Refresher : Microsoft.Extensions.Hosting.IHostedService
        {
            private int _size;

            public Refresher(IOptionsMonitor<Options> monitor) => monitor.OnChange(o => _size = o.Size);

            public System.Threading.Tasks.Task StartAsync(System.Threading.CancellationToken cancellationToken) => System.Threading.Tasks.Task.CompletedTask;

            public System.Threading.Tasks.Task StopAsync(System.Threading.CancellationToken cancellationToken) => System.Threading.Tasks.Task.CompletedTask;
        }

        public static class Registration
        {
            public static void AddServices(IServiceCollection services)
            {
                services.AddSingleton<IRateLimiter, RateLimiter>();
                services.AddSingleton<FeatureFlags>();
                services.AddSingleton<Reporter>(sp => new Reporter(null!, "report"));
            }
        }
        """;

    [Fact]
    public Task SR1006_OnChangeInDiSingletonConstructor_DoesNotReport() =>
        Verify.AnalyzerAsync<DiscardedRegistrationAnalyzer>(DiHeader + ChangeHeader + Singletons);

    [Fact]
    public Task SR1006_OnChangeInDiSingletonConstructorInStrictMode_Reports() =>
        Verify.AnalyzerWithConfigAsync<DiscardedRegistrationAnalyzer>(
            DiHeader + ChangeHeader + Singletons
                .Replace("=> monitor.OnChange(o => _limit = o.Size);", "=> {|SR1006:monitor.OnChange(o => _limit = o.Size)|};", StringComparison.Ordinal)
                .Replace("ChangeToken.OnChange(producer, () => _reloads++);", "{|SR1006:ChangeToken.OnChange(producer, () => _reloads++);|}", StringComparison.Ordinal)
                .Replace("monitor.OnChange((o, n) => _size = o.Size + name.Length);", "{|SR1006:monitor.OnChange((o, n) => _size = o.Size + name.Length);|}", StringComparison.Ordinal)
                .Replace("=> monitor.OnChange(o => _size = o.Size);", "=> {|SR1006:monitor.OnChange(o => _size = o.Size)|};", StringComparison.Ordinal),
            "saferefs.SR1006.mode = strict");

    // The leaky neighbours of pattern 5: a scoped service, an unregistered type, and a singleton's method that can run
    // more than once.
    [Fact]
    public Task SR1006_OnChangeOutsideSingletonConstructors_Reports() =>
        Verify.AnalyzerAsync<DiscardedRegistrationAnalyzer>(DiHeader + ChangeHeader + """
            public sealed class RequestPricing
            {
                private int _size;

                public RequestPricing(IOptionsMonitor<Options> monitor) => {|SR1006:monitor.OnChange(o => _size = o.Size)|};
            }

            public sealed class Unregistered
            {
                private int _size;

                public Unregistered(IOptionsMonitor<Options> monitor) => {|SR1006:monitor.OnChange(o => _size = o.Size)|};
            }

            public sealed class Cache
            {
                private int _size;

                public void Watch(IOptionsMonitor<Options> monitor) => {|SR1006:monitor.OnChange(o => _size = o.Size)|};
            }

            public static class Registration
            {
                public static void AddServices(IServiceCollection services)
                {
                    services.AddScoped<RequestPricing>();
                    services.AddSingleton<Cache>();
                }
            }
            """);
}
