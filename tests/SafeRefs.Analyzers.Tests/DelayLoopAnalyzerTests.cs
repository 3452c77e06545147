using SafeRefs.Analyzers.Tests.Infrastructure;

namespace SafeRefs.Analyzers.Tests;

public sealed class DelayLoopAnalyzerTests
{
    [Fact]
    public Task Analyzer_EndlessDelayLoopUsingThis_Reports() =>
        Verify.AnalyzerAsync<DelayLoopAnalyzer>("""
            using System;
            using System.Threading.Tasks;

            public sealed class Poller
            {
                private int _ticks;

                public async Task RunAsync()
                {
                    {|SR1007:while (true)|}
                    {
                        await Task.Delay(1000);
                        _ticks++;
                    }
                }

                public async Task RunForAsync()
                {
                    {|SR1007:for (;;)|}
                    {
                        await Task.Delay(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
                        Tick();
                    }
                }

                private void Tick() => _ticks++;
            }

            public sealed class Counter
            {
                public int Hits { get; private set; }

                public void Hit() => Hits++;
            }

            public sealed class PrimaryPoller(Counter counter)
            {
                public async Task PollForeverAsync()
                {
                    {|SR1007:while (true)|}
                    {
                        await Task.Delay(1000).ConfigureAwait(false);
                        counter.Hit();
                    }
                }
            }
            """);

    [Fact]
    public Task Analyzer_LoopsThatCanEndOrDoNotRootOwner_DoNotReport() =>
        Verify.AnalyzerAsync<DelayLoopAnalyzer>("""
            using System;
            using System.Threading;
            using System.Threading.Tasks;

            public sealed class Poller
            {
                private readonly CancellationTokenSource _cts = new();
                private int _ticks;
                private bool _stopped;

                public async Task CancellableAsync()
                {
                    while (true)
                    {
                        await Task.Delay(1000, _cts.Token);
                        _ticks++;
                    }
                }

                public async Task ConditionAsync()
                {
                    while (!_cts.IsCancellationRequested)
                    {
                        await Task.Delay(1000);
                        _ticks++;
                    }
                }

                public async Task BreakAsync()
                {
                    while (true)
                    {
                        await Task.Delay(1000);
                        if (_stopped)
                        {
                            break;
                        }

                        _ticks++;
                    }
                }

                public async Task NoThisAsync()
                {
                    while (true)
                    {
                        await Task.Delay(1000);
                        Console.WriteLine("tick");
                    }
                }

                public static async Task StaticAsync(WeakReference<Poller> owner)
                {
                    while (true)
                    {
                        await Task.Delay(1000);
                        if (!owner.TryGetTarget(out var poller))
                        {
                            return;
                        }

                        poller._ticks++;
                    }
                }
            }
            """);

    // Endless delay loops that root captured state rather than `this`: a static method's parameter, a local declared
    // before the loop, a loop inside a fire-and-forget lambda capturing the enclosing method's local, and a lambda
    // parameter. Shapes from "run forever" helpers and cache trimmers started with Task.Run.
    [Fact]
    public Task Analyzer_EndlessDelayLoopRootingCapturedState_Reports() =>
        Verify.AnalyzerAsync<DelayLoopAnalyzer>("""
            using System;
            using System.Collections.Concurrent;
            using System.Collections.Generic;
            using System.Threading.Tasks;

            public sealed class Cache
            {
                public void Trim() { }
            }

            public static class Background
            {
                public static async Task TrimForeverAsync(Cache cache)
                {
                    {|#0:while (true)|}
                    {
                        await Task.Delay(TimeSpan.FromMinutes(1));
                        cache.Trim();
                    }
                }

                public static async Task PumpAsync()
                {
                    var queue = new ConcurrentQueue<string>();
                    {|SR1007:for (;;)|}
                    {
                        await Task.Delay(100).ConfigureAwait(false);
                        queue.Enqueue("tick");
                    }
                }

                public static void Start(List<string> log)
                {
                    _ = Task.Run(async () =>
                    {
                        {|SR1007:while (true)|}
                        {
                            await Task.Delay(1000);
                            log.Add("alive");
                        }
                    });
                }

                public static void StartEach(IEnumerable<Cache> caches)
                {
                    foreach (var each in caches)
                    {
                        Func<Cache, Task> run = async cache =>
                        {
                            {|SR1007:while (true)|}
                            {
                                await Task.Delay(1000);
                                cache.Trim();
                            }
                        };
                        _ = run(each);
                    }
                }
            }
            """,
            Microsoft.CodeAnalysis.OutputKind.DynamicallyLinkedLibrary,
            new Microsoft.CodeAnalysis.Testing.DiagnosticResult(Descriptors.SR1007).WithLocation(0).WithArguments("'cache' (and what it references)"));

    // What stays quiet: state declared inside the loop, value types and strings, a weak reference, the entry point
    // (the loop is the process), and a cancellable delay.
    [Fact]
    public Task Analyzer_EndlessDelayLoopsRootingNothingOrLivingForTheProcess_DoNotReport() =>
        Verify.AnalyzerAsync<DelayLoopAnalyzer>("""
            using System;
            using System.Threading;
            using System.Threading.Tasks;

            public sealed class Cache
            {
                public void Trim() { }
            }

            public static class Background
            {
                public static async Task CountAsync(string name, int start)
                {
                    var count = start;
                    for (var i = 0; ; i++)
                    {
                        await Task.Delay(1000);
                        var line = new System.Text.StringBuilder(name).Append(i);
                        count++;
                        Console.WriteLine(line);
                    }
                }

                public static async Task TrimWeaklyAsync(WeakReference<Cache> weak)
                {
                    while (true)
                    {
                        await Task.Delay(1000);
                        if (weak.TryGetTarget(out var cache))
                        {
                            cache.Trim();
                        }
                    }
                }

                public static async Task TrimUntilCancelledAsync(Cache cache, CancellationToken token)
                {
                    while (true)
                    {
                        await Task.Delay(1000, token);
                        cache.Trim();
                    }
                }
            }

            public static class Program
            {
                public static async Task Main(string[] args)
                {
                    var cache = new Cache();
                    while (true)
                    {
                        await Task.Delay(1000);
                        cache.Trim();
                    }
                }
            }
            """);
}
