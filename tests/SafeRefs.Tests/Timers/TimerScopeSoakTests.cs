using SafeRefs.Internal;
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
            await scope.DisposeAsync();
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

            await timer.DisposeAsync();
            Volatile.Write(ref disposed, 1);
            Assert.Equal(0, Volatile.Read(ref running));
        }

        Assert.Equal(0, scope.ActiveCount);
        Assert.Equal(0, Volatile.Read(ref late));
    }

    [Fact]
    public async Task ConcurrentOwnerTimers_ReusedHandles_NoCallbackWithAnotherTimersOwner()
    {
        using var scope = new TimerScope(TimeProvider.System);
        var unexpected = new List<Exception>();
        scope.Error += (_, e) => { lock (unexpected) { unexpected.Add(e.Exception); } };
        var ended = new List<(SoakOwner Owner, int Ticks)>();
        var live = new List<SoakOwner>();
        var recycledBefore = OwnerHandleBlock.Recycled;
        var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            var created = 0;
            while (created < OpsPerWorker)
            {
                // A batch of owner timers, ended in random order: handle blocks come free and are reused.
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

                    // After DisposeAsync no callback of this timer runs or starts: the owner's count is final,
                    // unless another timer were handed this owner through a reused handle.
                    await timer.DisposeAsync();
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

        // Let the live timers (whose handles may sit in reused slots) tick a while longer.
        var probe = live[0];
        var target = probe.Ticks + 20;
        Assert.True(SpinWait.SpinUntil(() => probe.Ticks >= target, Wait), "the live timers stopped ticking");

        Assert.Empty(unexpected);
        Assert.True(OwnerHandleBlock.Recycled > recycledBefore, "no handle block was reused");
        Assert.All(ended, e => Assert.Equal(e.Ticks, e.Owner.Ticks));
        Assert.Equal(live.Count, scope.ActiveCount);
        Assert.All(live, o => Assert.True(o.Ticks > 0));
    }

    private sealed class SoakOwner
    {
        private int _ticks;

        public int Ticks => Volatile.Read(ref _ticks);

        public void Tick() => Interlocked.Increment(ref _ticks);
    }
}
