using SafeRefs.Analyzers.CodeFixes;
using SafeRefs.Analyzers.Tests.Infrastructure;

namespace SafeRefs.Analyzers.Tests;

public sealed class UndisposedTimerAnalyzerTests
{
    [Fact]
    public Task Analyzer_DiscardedOrLocalOnlyTimers_Reports() =>
        Verify.AnalyzerAsync<UndisposedTimerAnalyzer>("""
            using System;
            using System.Threading;
            using System.Threading.Tasks;

            public sealed class Poller
            {
                private int _ticks;

                public Poller()
                {
                    {|SR1003:new Timer(_ => _ticks++, null, 0, 1000);|}
                    {|SR1003:_ = TimeProvider.System.CreateTimer(_ => _ticks++, null, TimeSpan.Zero, TimeSpan.FromSeconds(1));|}
                }

                public async Task RunAsync()
                {
                    {|SR1003:var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));|}
                    while (await timer.WaitForNextTickAsync())
                    {
                        _ticks++;
                    }
                }

                public void Start()
                {
                    {|SR1003:var timer = new System.Timers.Timer(100);|}
                    timer.Elapsed += (s, e) => _ticks++;
                    timer.Start();
                }
            }
            """);

    [Fact]
    public Task Analyzer_OwnedOrDisposedTimers_DoNotReport() =>
        Verify.AnalyzerAsync<UndisposedTimerAnalyzer>("""
            using System;
            using System.Threading;
            using System.Threading.Tasks;

            public sealed class Poller : IDisposable
            {
                private readonly Timer _timer;
                private int _ticks;

                public Poller() => _timer = new Timer(_ => _ticks++, null, 0, 1000);

                public async Task RunAsync()
                {
                    using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
                    while (await timer.WaitForNextTickAsync())
                    {
                        _ticks++;
                    }
                }

                public void DisposedInFinally()
                {
                    var timer = new System.Timers.Timer(100);
                    try
                    {
                        timer.Start();
                    }
                    finally
                    {
                        timer.Dispose();
                    }
                }

                public ITimer Create() => TimeProvider.System.CreateTimer(_ => _ticks++, null, TimeSpan.Zero, TimeSpan.FromSeconds(1));

                public void HandedOver(System.Collections.Generic.List<IDisposable> owned)
                {
                    var timer = new Timer(_ => _ticks++);
                    owned.Add(timer);
                    using (var scoped = new Timer(_ => _ticks++))
                    {
                        scoped.Change(0, 1000);
                    }
                }

                public void Dispose() => _timer.Dispose();
            }
            """);

    [Fact]
    public Task CodeFix_DiscardedTimerInConstructor_KeepsItInAFieldDisposedByNewDispose() =>
        Verify.CodeFixAsync<UndisposedTimerAnalyzer, DisposableResultCodeFixProvider>(
            """
            using System.Threading;

            public sealed class Poller
            {
                private int _ticks;

                public Poller()
                {
                    {|SR1003:new Timer(_ => _ticks++, null, 0, 1000);|}
                }
            }
            """,
            """
            using System.Threading;

            public sealed class Poller : System.IDisposable
            {
                private readonly Timer _timer;
                private int _ticks;

                public Poller()
                {
                    _timer = new Timer(_ => _ticks++, null, 0, 1000);
                }

                public void Dispose()
                {
                    _timer?.Dispose();
                }
            }
            """,
            "FieldPlan");

    [Fact]
    public Task CodeFix_LocalPeriodicTimer_BecomesUsingDeclaration() =>
        Verify.CodeFixAsync<UndisposedTimerAnalyzer, DisposableResultCodeFixProvider>(
            """
            using System;
            using System.Threading;
            using System.Threading.Tasks;

            public static class Loop
            {
                public static async Task RunAsync(Action tick)
                {
                    {|SR1003:var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));|}
                    while (await timer.WaitForNextTickAsync())
                    {
                        tick();
                    }
                }
            }
            """,
            """
            using System;
            using System.Threading;
            using System.Threading.Tasks;

            public static class Loop
            {
                public static async Task RunAsync(Action tick)
                {
                    using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
                    while (await timer.WaitForNextTickAsync())
                    {
                        tick();
                    }
                }
            }
            """,
            "UseUsingAsync");

    [Fact]
    public Task CodeFix_DiscardedPeriodicTimer_BecomesTimerScopeEveryWithWeakOwner() =>
        Verify.CodeFixAsync<UndisposedTimerAnalyzer, TimerScopeCodeFixProvider>(
            """
            using System;
            using System.Threading;
            using SafeRefs.Timers;

            public sealed class Poller
            {
                private int _ticks;

                public Poller()
                {
                    {|SR1003:new Timer(_ => _ticks++, null, 1000, 1000);|}
                }

                public void Start(TimeProvider provider)
                {
                    {|SR1003:_ = provider.CreateTimer(Tick, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));|}
                }

                private void Tick(object? state) => _ticks++;
            }
            """,
            """
            using System;
            using System.Threading;
            using SafeRefs.Timers;

            public sealed class Poller : IDisposable
            {
                private readonly TimerScope _timers = new();
                private int _ticks;

                public Poller()
                {
                    _timers.Every(this, TimeSpan.FromMilliseconds(1000), static owner => owner._ticks++);
                }

                public void Start(TimeProvider provider)
                {
                    _timers.Every(this, TimeSpan.FromSeconds(1), static owner => owner.Tick(null));
                }

                private void Tick(object? state) => _ticks++;

                public void Dispose()
                {
                    _timers.Dispose();
                }
            }
            """,
            "TimerScopeCodeFixProvider",
            iterations: 2);

    [Fact]
    public Task CodeFix_TimerWithStateOrDifferentDueTime_OffersNoTimerScopeRewrite() =>
        Verify.CodeFixAsync<UndisposedTimerAnalyzer, TimerScopeCodeFixProvider>(
            """
            using System.Threading;

            public sealed class Poller
            {
                private int _ticks;

                public Poller(object state)
                {
                    {|SR1003:new Timer(_ => _ticks++, state, 1000, 1000);|}
                    {|SR1003:new Timer(_ => _ticks++, null, 0, 1000);|}
                }
            }
            """,
            """
            using System.Threading;

            public sealed class Poller
            {
                private int _ticks;

                public Poller(object state)
                {
                    {|SR1003:new Timer(_ => _ticks++, state, 1000, 1000);|}
                    {|SR1003:new Timer(_ => _ticks++, null, 0, 1000);|}
                }
            }
            """,
            "TimerScopeCodeFixProvider",
            iterations: 0);
}
