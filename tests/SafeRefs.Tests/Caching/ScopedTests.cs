using SafeRefs.Caching;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Caching;

public sealed class ScopedTests
{
    [Fact]
    public void Lease_OutlivesEviction_ValueDisposedWhenTheLastLeaseEnds()
    {
        using var cache = new BoundedLruCache<int, Scoped<Resource>>(new BoundedLruCacheOptions<int, Scoped<Resource>>
        {
            Capacity = 1,
            DisposeEvictedValues = true,
        });
        var resource = new Resource();
        cache.Set(1, new Scoped<Resource>(resource));
        Assert.True(cache.TryGetLease(1, out var first));
        Assert.True(cache.TryGetLease(1, out var second));

        cache.Set(2, new Scoped<Resource>(new Resource())); // evicts 1 while two readers use it
        Assert.False(resource.IsDisposed);
        Assert.False(cache.TryGetLease(1, out _));
        first.Dispose();
        first.Dispose();
        Assert.False(resource.IsDisposed);
        Assert.Same(resource, second.Value);
        second.Dispose();
        Assert.Equal(1, resource.Disposals);
        Assert.Throws<ObjectDisposedException>(() => second.Value);
    }

    [Fact]
    public void Scoped_WithoutLeases_DisposesWithItsOwner_AndRefusesNewLeases()
    {
        var resource = new Resource();
        var scoped = new Scoped<Resource>(resource);
        scoped.Dispose();
        scoped.Dispose();
        Assert.Equal(1, resource.Disposals);
        Assert.True(scoped.IsReleased);
        Assert.False(scoped.TryLease(out _));
        Assert.Throws<ArgumentNullException>(() => new Scoped<Resource>(null!));
    }

    [Fact]
    public async Task Leases_RaceWithEvictions_NoReaderEverSeesADisposedValue()
    {
        using var cache = new BoundedLruCache<int, Scoped<Resource>>(new BoundedLruCacheOptions<int, Scoped<Resource>>
        {
            Capacity = 4,
            DisposeEvictedValues = true,
        });
        var created = new System.Collections.Concurrent.ConcurrentBag<Resource>();
        const int Iterations = 20_000;
        var writer = Task.Run(() =>
        {
            for (var i = 0; i < Iterations; i++)
            {
                var resource = new Resource();
                created.Add(resource);
                cache.Set(i % 8, new Scoped<Resource>(resource));
            }
        });
        var reader = Task.Run(() =>
        {
            var leased = 0;
            for (var i = 0; !writer.IsCompleted || i < Iterations; i++)
            {
                if (cache.TryGetLease(i % 8, out var lease))
                {
                    using (lease)
                    {
                        Assert.False(lease.Value.IsDisposed, "a leased value was disposed under its reader");
                        leased++;
                    }
                }
            }

            return leased;
        });
        await writer.Bounded();
        Assert.True(await reader.Bounded() > 0);
        cache.Clear();
        Assert.All(created, r => Assert.Equal(1, r.Disposals));
    }

    internal sealed class Resource : IDisposable
    {
        private int _disposals;

        public int Disposals => Volatile.Read(ref _disposals);

        public bool IsDisposed => Disposals > 0;

        public void Dispose() => Interlocked.Increment(ref _disposals);
    }
}
