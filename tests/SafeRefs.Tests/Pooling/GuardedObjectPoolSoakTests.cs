using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Internal;
using SafeRefs.Pooling;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Pooling;

[Collection(SoakCollection.Name)]
public sealed class GuardedObjectPoolSoakTests
{
    [Fact]
    public async Task ManyThreads_FewObjects_NoLeaseEverSeesAForeignHandler()
    {
        const int threads = 4;
        const int objects = 2;
        const int leasesPerThread = 3_000;
        var pool = new GuardedObjectPool<Widget>(new DefaultObjectPool<Widget>(new DefaultPooledObjectPolicy<Widget>(), maximumRetained: objects));
        var foreign = 0;
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<int, byte>();
        var nextLeaseId = 0;
        using var unused = new CancellationTokenSource();
        using var barrier = new Barrier(threads);
        var tasks = Enumerable.Range(0, threads).Select(_ => Task.Factory.StartNew(
            () =>
            {
                barrier.SignalAndWaitBounded();
                for (var i = 0; i < leasesPerThread; i++)
                {
                    var leaseId = Interlocked.Increment(ref nextLeaseId);
                    using var lease = pool.Rent();
                    var widget = lease.Value;
                    seen.TryAdd(widget.Id, 0);
                    var calls = 0;
                    lease.On(static (w, h) => w.Ticked += h, static (w, h) => w.Ticked -= h, (EventHandler<int>)((_, id) =>
                    {
                        calls++;
                        if (id != leaseId)
                        {
                            Interlocked.Increment(ref foreign);
                        }
                    }));
                    if (i % 3 == 0)
                    {
                        lease.OnCancel(unused.Token, static () => { });
                    }

                    widget.RaiseTicked(leaseId);
                    if (calls != 1)
                    {
                        Interlocked.Increment(ref foreign);
                    }
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();
        await Task.WhenAll(tasks).Bounded();

        Assert.Equal(0, foreign);
        var stats = pool.Statistics;
        Assert.Equal(threads * leasesPerThread, stats.Rented);
        Assert.Equal(0, stats.Outstanding);
        Assert.Equal(threads * leasesPerThread + ((leasesPerThread + 2) / 3 * threads), stats.Detached);
        for (var i = 0; i < objects; i++)
        {
            Assert.Equal(0, pool.Get().TickedCount);
        }
    }

    [Fact]
    public void ManyThreads_RentAttachStartTimersEnd_NoListenerTimerOrObjectInTwoPlacesAtOnce()
    {
        const int threads = 4;
        const int leasesPerThread = 1_500;
        var timeBound = Stopwatch.StartNew();
        var fake = new FakeTimeProvider();
        var clock = new CountingTimeProvider(fake);
        var policy = new OwnedWidgetPolicy();
        var pool = new GuardedObjectPool<Widget>(
            new DefaultObjectPool<Widget>(policy, maximumRetained: 3),
            new GuardedObjectPoolOptions<Widget> { TimeProvider = clock });
        var foreign = 0;
        var twoPlaces = 0;
        var performed = 0;
        var nextLeaseId = 0;
        var handOver = new ConcurrentQueue<PoolLease<Widget>>();
        using var stop = new CancellationTokenSource();

        // Time runs on a thread of its own, so lease timers fire while leases are attached to and ended elsewhere.
        var driver = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                fake.Advance(TimeSpan.FromMilliseconds(1));
                Thread.Yield();
            }
        });
        driver.Start();
        using var barrier = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            barrier.SignalAndWaitBounded();
            for (var i = 0; i < leasesPerThread && timeBound.Elapsed < TimeSpan.FromSeconds(20); i++)
            {
                // Some leases are ended by another thread than the one that rented them.
                if (handOver.TryDequeue(out var foreignLease))
                {
                    foreignLease.Dispose();
                }

                var leaseId = Interlocked.Increment(ref nextLeaseId);
                var lease = pool.Rent();
                Interlocked.Increment(ref performed);
                var widget = lease.Value;
                var owner = policy.OwnerOf(widget);
                if (Interlocked.CompareExchange(ref owner.Value, leaseId, 0) != 0)
                {
                    Interlocked.Increment(ref twoPlaces);
                }

                void Check()
                {
                    if (Volatile.Read(ref owner.Value) != leaseId)
                    {
                        Interlocked.Increment(ref foreign);
                    }
                }

                lease.On(static (w, h) => w.Ticked += h, static (w, h) => w.Ticked -= h, (EventHandler<int>)((_, _) => Check()));
                if (i % 2 == 0)
                {
                    lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => Check()));
                }

                lease.Timers.After(TimeSpan.FromMilliseconds(1 + (i % 3)), () =>
                {
                    Check();
                    widget.RaiseChanged();
                    Thread.SpinWait(2_000); // long enough to be running when the lease ends
                    Check();
                });
                if (i % 5 == 0)
                {
                    lease.Timers.Every(TimeSpan.FromMilliseconds(1), Check);
                }

                // Every eighth lease ends while a callback of it is known to run: the callback holds on (bounded) until
                // the lease has ended, then touches the object once more.
                var held = i % 8 == 3 ? new HeldCallback() : null;
                if (held is not null)
                {
                    lease.Timers.After(TimeSpan.FromMilliseconds(1), () =>
                    {
                        Volatile.Write(ref held.Entered, 1);
                        SpinWait.SpinUntil(() => Volatile.Read(ref held.LeaseEnded) != 0, TimeSpan.FromMilliseconds(200));
                        Check();
                    });
                }

                widget.RaiseTicked(leaseId);
                Thread.SpinWait(i % 7 * 300); // the clock moves on meanwhile, so some timers fire before the lease ends
                if (held is not null)
                {
                    SpinWait.SpinUntil(() => Volatile.Read(ref held.Entered) != 0, TimeSpan.FromMilliseconds(200));
                    lease.Dispose();
                    Volatile.Write(ref held.LeaseEnded, 1);
                    continue;
                }

                switch (i % 4)
                {
                    case 0:
                        handOver.Enqueue(lease);
                        break;
                    case 1:
                        lease.DisposeAsync().Bounded().GetAwaiter().GetResult();
                        break;
                    default:
                        lease.Dispose();
                        break;
                }
            }
        })).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.JoinBounded());
        while (handOver.TryDequeue(out var left))
        {
            left.Dispose();
        }

        // A lease ended while one of its callbacks ran returns its object when that callback does.
        Assert.True(SpinWait.SpinUntil(() => pool.Statistics.Outstanding == 0, TimeSpan.FromSeconds(30)), "objects still out");
        stop.Cancel();
        driver.JoinBounded();

        Assert.Equal(0, Volatile.Read(ref foreign));
        Assert.Equal(0, Volatile.Read(ref twoPlaces));
        Assert.Equal(0, policy.ListenersAtReturn);
        Assert.Equal(0, clock.LiveTimers);
        Assert.Equal(performed, pool.Statistics.Rented);
        Assert.All(policy.Created, w => Assert.Equal((0, 0), (w.ListenerCount, policy.OwnerOf(w).Value)));
    }

    [Fact]
    public void Dispose_FromManyThreadsAtOnce_EndsTheLeaseExactlyOnce()
    {
        const int threads = 4;
        const int rounds = 300;
        var pool = new GuardedObjectPool<Widget>(new DefaultObjectPool<Widget>(new DefaultPooledObjectPolicy<Widget>(), maximumRetained: 1));
        var removes = 0;
        using var barrier = new Barrier(threads + 1);
        PoolLease<Widget>? lease = null;
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            for (var i = 0; i < rounds; i++)
            {
                barrier.SignalAndWaitBounded();
                lease!.Dispose();
                barrier.SignalAndWaitBounded();
            }
        })).ToList();
        workers.ForEach(t => t.Start());
        for (var i = 0; i < rounds; i++)
        {
            lease = pool.Rent();
            lease.On((w, h) => { w.Changed += h; }, (w, h) => { Interlocked.Increment(ref removes); w.Changed -= h; }, (EventHandler)((_, _) => { }));
            barrier.SignalAndWaitBounded();

            // The renter, to which the lease is biased, disposes too.
            lease.Dispose();
            barrier.SignalAndWaitBounded();
            Assert.Equal(i + 1, Volatile.Read(ref removes));
        }

        workers.ForEach(t => t.JoinBounded());
        var stats = pool.Statistics;
        Assert.Equal((rounds, rounds, rounds, 0L), (stats.Rented, stats.Returned, stats.Detached, stats.Outstanding));
        Assert.Equal(0, pool.Get().ListenerCount);
    }

    [Fact]
    public void On_RacingDispose_EitherThrowsOrIsDetached_NeverLeftOnTheReturnedObject()
    {
        const int rounds = 2_000;
        var pool = new GuardedObjectPool<Widget>(new DefaultObjectPool<Widget>(new DefaultPooledObjectPolicy<Widget>(), maximumRetained: 1));
        using var barrier = new Barrier(2);
        PoolLease<Widget>? lease = null;
        var refused = 0;
        var attacher = new Thread(() =>
        {
            for (var i = 0; i < rounds; i++)
            {
                barrier.SignalAndWaitBounded();
                try
                {
                    lease!.On(static (w, h) => w.Ticked += h, static (w, h) => w.Ticked -= h, (EventHandler<int>)((_, _) => { }));
                }
                catch (ObjectDisposedException)
                {
                    refused++;
                }

                barrier.SignalAndWaitBounded();
            }
        });
        attacher.Start();
        for (var i = 0; i < rounds; i++)
        {
            lease = pool.Rent();
            var widget = lease.Value;
            barrier.SignalAndWaitBounded();
            lease.Dispose();
            barrier.SignalAndWaitBounded();
            Assert.Equal(0, widget.TickedCount);
        }

        attacher.JoinBounded();
        var stats = pool.Statistics;
        Assert.Equal(rounds, stats.Returned);
        Assert.Equal(rounds - refused, stats.Detached);
    }

    [Fact]
    public void On_OnTheRenterThreadRacingDisposeFromAnotherThread_EitherThrowsOrIsDetached()
    {
        // The renter attaches while another thread ends its lease.
        const int rounds = 2_000;
        var pool = new GuardedObjectPool<Widget>(new DefaultObjectPool<Widget>(new DefaultPooledObjectPolicy<Widget>(), maximumRetained: 1));
        using var barrier = new Barrier(2);
        PoolLease<Widget>? lease = null;
        var disposer = new Thread(() =>
        {
            for (var i = 0; i < rounds; i++)
            {
                barrier.SignalAndWaitBounded();
                lease!.Dispose();
                barrier.SignalAndWaitBounded();
            }
        });
        disposer.Start();
        var refused = 0;
        var attached = 0;
        for (var i = 0; i < rounds; i++)
        {
            lease = pool.Rent();
            var widget = lease.Value;
            barrier.SignalAndWaitBounded();
            for (var k = 0; k < 3; k++)
            {
                try
                {
                    lease.On(static (w, h) => w.Ticked += h, static (w, h) => w.Ticked -= h, (EventHandler<int>)((_, _) => { }));
                    attached++;
                }
                catch (ObjectDisposedException)
                {
                    refused++;
                }
            }

            barrier.SignalAndWaitBounded();
            Assert.Equal(0, widget.TickedCount);
        }

        disposer.JoinBounded();
        var stats = pool.Statistics;
        Assert.Equal(rounds * 3, attached + refused);
        Assert.Equal((rounds, (long)attached, 0L), (stats.Returned, stats.Detached, stats.Outstanding));
    }

    private sealed class HeldCallback
    {
        public int Entered;
        public int LeaseEnded;
    }

    /// <summary>Creates widgets, each with an owner cell that a lease claims at rent; the cell is cleared (and the
    /// widget checked for listeners) when the widget goes back into the inner pool.</summary>
    private sealed class OwnedWidgetPolicy : PooledObjectPolicy<Widget>
    {
        private readonly ConcurrentDictionary<Widget, StrongBox<int>> _owners = new(ReferenceEqualityComparer.Instance);
        private int _listenersAtReturn;

        public int ListenersAtReturn => Volatile.Read(ref _listenersAtReturn);

        public ICollection<Widget> Created => _owners.Keys;

        public StrongBox<int> OwnerOf(Widget widget) => _owners[widget];

        public override Widget Create()
        {
            var widget = new Widget();
            _owners[widget] = new StrongBox<int>();
            return widget;
        }

        public override bool Return(Widget obj)
        {
            if (obj.ListenerCount != 0)
            {
                Interlocked.Increment(ref _listenersAtReturn);
            }

            Volatile.Write(ref _owners[obj].Value, 0);
            return true;
        }
    }
}
