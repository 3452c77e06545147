using SafeRefs.Tests.Diagnostics;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Timers;

/// <summary>Threads creating and disposing timers while the scope is disposed, on the real clock.</summary>
[Collection(SoakCollection.Name)]
public sealed class TimerScopeSoakTests
{
    private const int Rounds = 30;
    private const int Workers = 3;
    private const int OpsPerWorker = 300;
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ConcurrentCreateDisposeAndScopeDispose_NoCallbackAfterDisposeAsync_NoException()
    {
        var unexpected = new List<Exception>();
        var lateCallbacks = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var scope = new TimerScope(TimeProvider.System);
            scope.Error += (_, e) => { lock (unexpected) { unexpected.Add(e.Exception); } };
            var disposed = 0;
            var ops = 0;
            using var started = new CountdownEvent(Workers);
            var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(() =>
            {
                var own = new List<ScopedTimer>();
                var random = new Random((round * Workers) + w);
                started.Signal();
                try
                {
                    for (var i = 0; i < OpsPerWorker; i++)
                    {
                        Interlocked.Increment(ref ops);
                        switch (random.Next(6))
                        {
                            case 0:
                                own.Add(scope.Every(Ms, Callback));
                                break;
                            case 1:
                                own.Add(scope.After(TimeSpan.FromMilliseconds(random.Next(2)), Callback));
                                break;
                            case 2:
                                _ = scope.Delay(TimeSpan.FromMilliseconds(random.Next(1, 3)));
                                break;
                            case 3:
                                _ = scope.CancelAfter(TimeSpan.FromMilliseconds(random.Next(0, 3)));
                                break;
                            default:
                                if (own.Count > 0)
                                {
                                    var index = random.Next(own.Count);
                                    own[index].Dispose();
                                    own.RemoveAt(index);
                                }

                                break;
                        }
                    }
                }
                catch (ObjectDisposedException)
                {
                    // The scope was disposed under this worker: expected.
                }
#pragma warning disable CA1031 // Collected and asserted below.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    lock (unexpected)
                    {
                        unexpected.Add(ex);
                    }
                }
            })).ToArray();

            Assert.True(started.Wait(Wait));
            Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref ops) >= Workers * OpsPerWorker / 3, Wait));
            await scope.DisposeAsync().Bounded();
            Volatile.Write(ref disposed, 1);
            await Task.WhenAll(workers).WaitAsync(Wait);
            Assert.Equal(0, scope.ActiveCount);

            void Callback()
            {
                if (Volatile.Read(ref disposed) != 0)
                {
                    Interlocked.Increment(ref lateCallbacks);
                }
            }
        }

        // A witness timer on another scope ticks several times, so timers of the disposed scopes had time to fire.
        using var witness = new TimerScope(TimeProvider.System);
        var ticks = 0;
        var ticked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        witness.Every(Ms, () =>
        {
            if (Interlocked.Increment(ref ticks) == 20)
            {
                ticked.TrySetResult();
            }
        });
        await ticked.Task.WaitAsync(Wait);

        Assert.Empty(unexpected);
        Assert.Equal(0, Volatile.Read(ref lateCallbacks));
    }

    [Fact]
    public async Task ConcurrentTimerDisposeAndCallbacks_DisposeAsyncWaits_NoLateCallback()
    {
        using var scope = new TimerScope(TimeProvider.System);
        var late = 0;
        for (var round = 0; round < 200; round++)
        {
            var disposed = 0;
            var running = 0;
            var timer = scope.Every(Ms, () =>
            {
                Interlocked.Increment(ref running);
                if (Volatile.Read(ref disposed) != 0)
                {
                    Interlocked.Increment(ref late);
                }

                Thread.SpinWait(50);
                Interlocked.Decrement(ref running);
            });
            if (round % 2 == 0)
            {
                Thread.Yield();
            }

            await timer.DisposeAsync().Bounded();
            Volatile.Write(ref disposed, 1);
            Assert.Equal(0, Volatile.Read(ref running));
        }

        Assert.Equal(0, scope.ActiveCount);
        Assert.Equal(0, Volatile.Read(ref late));
    }

    [Fact]
    public async Task ConcurrentOwnerTimers_CreatedAndEndedInRandomOrder_NoCallbackAfterDisposeAsync()
    {
        using var scope = new TimerScope(TimeProvider.System);
        var unexpected = new List<Exception>();
        scope.Error += (_, e) => { lock (unexpected) { unexpected.Add(e.Exception); } };
        var ended = new List<(SoakOwner Owner, int Ticks)>();
        var live = new List<SoakOwner>();
        var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            var created = 0;
            while (created < OpsPerWorker)
            {
                // A batch of owner timers, ended in random order: table cells come free and are reused.
                var batch = new List<(ScopedTimer Timer, SoakOwner Owner)>();
                for (var i = random.Next(1, 13); i > 0; i--, created++)
                {
                    var owner = new SoakOwner();
                    batch.Add((scope.Every(owner, Ms, static o => o.Tick()), owner));
                }

                while (batch.Count > 0)
                {
                    var index = random.Next(batch.Count);
                    var (timer, owner) = batch[index];
                    batch.RemoveAt(index);

                    // After DisposeAsync no callback of this timer runs or starts: the owner's count is final.
                    await timer.DisposeAsync().Bounded();
                    lock (ended)
                    {
                        ended.Add((owner, owner.Ticks));
                    }
                }
            }

            var kept = new SoakOwner();
            scope.Every(kept, Ms, static o => o.Tick());
            lock (live)
            {
                live.Add(kept);
            }
        })).ToArray();
        await Task.WhenAll(workers).WaitAsync(Wait);

        // Let the live timers (which may sit in reused cells) tick a while longer.
        var probe = live[0];
        var target = probe.Ticks + 20;
        Assert.True(SpinWait.SpinUntil(() => probe.Ticks >= target, Wait), "the live timers stopped ticking");

        Assert.Empty(unexpected);
        Assert.All(ended, e => Assert.Equal(e.Ticks, e.Owner.Ticks));
        Assert.Equal(live.Count, scope.ActiveCount);
        Assert.All(live, o => Assert.True(o.Ticks > 0));
    }

    // A plain timer's close is a plain store (no compare-and-swap); a counted one (the metric is listened to) and an
    // owner timer close by an atomic claim. Each round races the timers' own Dispose against the scope's DisposeAsync
    // while the timers tick on the real clock: after DisposeAsync completes no callback runs or starts, every timer is
    // inactive, and a counted timer is uncounted exactly once (the scope's metric series returns to zero).
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task ConcurrentTimerDisposeAndScopeDisposeAsync_ClosedOnce_NoCallbackAfter(bool listened, bool owners)
    {
        const int TimersPerRound = 48;
        var name = "soak-" + Guid.NewGuid().ToString("N");
        using var active = listened ? MetricTotals.Collect("saferefs.timer.active") : null;

        var unexpected = new List<Exception>();
        var owner = new SoakOwner();
        for (var round = 0; round < Rounds; round++)
        {
            var scope = new TimerScope(TimeProvider.System) { Name = name };
            scope.Error += (_, e) => { lock (unexpected) { unexpected.Add(e.Exception); } };
            var running = 0;
            var started = 0;
            var timers = new ScopedTimer[TimersPerRound];
            for (var i = 0; i < timers.Length; i++)
            {
                timers[i] = owners
                    ? scope.Every(owner, Ms, o =>
                    {
                        Interlocked.Increment(ref running);
                        Interlocked.Increment(ref started);
                        o.Tick();
                        Thread.SpinWait(2000);
                        Interlocked.Decrement(ref running);
                    })
                    : scope.Every(Ms, () =>
                    {
                        Interlocked.Increment(ref running);
                        Interlocked.Increment(ref started);
                        Thread.SpinWait(2000);
                        Interlocked.Decrement(ref running);
                    });
            }

            // Dedicated threads, so the racers take no thread-pool thread from the callbacks.
            using var barrier = new Barrier(3);
            var fromStart = new Thread(() =>
            {
                barrier.SignalAndWaitBounded();
                for (var i = 0; i < timers.Length; i++)
                {
                    timers[i].Dispose();
                }
            });
            var fromEnd = new Thread(() =>
            {
                barrier.SignalAndWaitBounded();
                for (var i = timers.Length - 1; i >= 0; i--)
                {
                    timers[i].Dispose();
                }
            });
            fromStart.Start();
            fromEnd.Start();

            // Race the timers' Dispose (from both ends) against the scope's while a callback is running.
            Assert.True(SpinWait.SpinUntil(() => barrier.ParticipantsRemaining == 1, Wait));
            Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref running) > 0, Wait));
            barrier.SignalAndWaitBounded();
            await scope.DisposeAsync().Bounded();
            Assert.Equal(0, Volatile.Read(ref running));
            Assert.True(fromStart.Join(Wait) && fromEnd.Join(Wait));
            var final = Volatile.Read(ref started);

            // Timers that had not been disposed by DisposeAsync's end are idle now, and none starts again.
            await Task.WhenAll(timers.Select(t => t.DisposeAsync().AsTask())).WaitAsync(Wait);
            Assert.Equal(0, Volatile.Read(ref running));
            Assert.All(timers, t => Assert.False(t.IsActive));
            Assert.Equal(0, scope.ActiveCount);
            await WitnessTicksAsync(5);
            Assert.Equal(final, Volatile.Read(ref started));
            if (active is not null)
            {
                Assert.Equal(0, MetricTotals.Sum(active, "saferefs.timer.scope.name", name));
            }
        }

        Assert.Empty(unexpected);
        GC.KeepAlive(owner);
    }

    // Waits until a timer of a fresh scope has ticked n times on the real clock.
    private static async Task WitnessTicksAsync(int n)
    {
        using var witness = new TimerScope(TimeProvider.System);
        var ticks = 0;
        var ticked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        witness.Every(Ms, () =>
        {
            if (Interlocked.Increment(ref ticks) == n)
            {
                ticked.TrySetResult();
            }
        });
        await ticked.Task.WaitAsync(Wait);
    }

    private sealed class SoakOwner
    {
        private int _ticks;

        public int Ticks => Volatile.Read(ref _ticks);

        public void Tick() => Interlocked.Increment(ref _ticks);
    }
}
