using Microsoft.Extensions.ObjectPool;
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
        using var barrier = new Barrier(threads);
        var tasks = Enumerable.Range(0, threads).Select(_ => Task.Factory.StartNew(
            () =>
            {
                barrier.SignalAndWait();
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
                        lease.Track(lease.Token.Register(static () => { }));
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
        await Task.WhenAll(tasks);

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
}
