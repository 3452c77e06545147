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
}
