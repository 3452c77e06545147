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
}
