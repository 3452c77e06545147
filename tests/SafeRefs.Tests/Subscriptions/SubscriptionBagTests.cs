using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions;

public sealed class SubscriptionBagTests
{
    [Fact]
    public void Dispose_DisposesLastInFirstOut()
    {
        var order = new List<int>();
        var bag = new SubscriptionBag();
        for (var i = 0; i < 5; i++)
        {
            bag.Add(new Probe(order, i));
        }

        Assert.Equal(5, bag.Count);
        bag.Dispose();

        Assert.Equal([4, 3, 2, 1, 0], order);
        Assert.True(bag.IsDisposed);
        Assert.Equal(0, bag.Count);
    }

    [Fact]
    public void Dispose_SomeThrow_DisposesAllThenAggregates()
    {
        var order = new List<int>();
        var bag = new SubscriptionBag();
        bag.Add(new Probe(order, 0));
        bag.Add(new Probe(order, 1, fail: true));
        bag.Add(new Probe(order, 2));
        bag.Add(new Probe(order, 3, fail: true));

        var ex = Assert.Throws<AggregateException>(bag.Dispose);

        Assert.Equal([3, 2, 1, 0], order);
        Assert.Equal(2, ex.InnerExceptions.Count);
        bag.Dispose();
        Assert.Equal(4, order.Count);
    }

    [Fact]
    public void Add_AfterDispose_DisposesItemAtOnce()
    {
        var order = new List<int>();
        var bag = new SubscriptionBag();
        bag.Dispose();

        var probe = bag.Add(new Probe(order, 7));

        Assert.Equal([7], order);
        Assert.Equal(1, probe.Disposals);
        Assert.Equal(0, bag.Count);
    }

    [Fact]
    public void Remove_DoesNotDisposeAndIsNotDisposedLater()
    {
        var order = new List<int>();
        var bag = new SubscriptionBag();
        var kept = bag.Add(new Probe(order, 1));
        var removed = bag.Add(new Probe(order, 2));

        Assert.True(bag.Remove(removed));
        Assert.False(bag.Remove(removed));
        Assert.Equal(1, bag.Count);
        bag.Dispose();

        Assert.Equal([1], order);
        Assert.Equal(0, removed.Disposals);
        Assert.Equal(1, kept.Disposals);
    }

    [Fact]
    public void Add_SameItemTwice_HeldTwice_RemoveTakesOutOneAddition()
    {
        var order = new List<int>();
        var bag = new SubscriptionBag();
        var probe = new Probe(order, 1);
        bag.Add(probe);
        bag.Add(probe);
        Assert.Equal(2, bag.Count);

        Assert.True(bag.Remove(probe));
        Assert.Equal(1, bag.Count);
        bag.Dispose();
        Assert.Equal(1, probe.Disposals);
    }

    [Fact]
    public void Add_SameItemTwice_RemoveTwice_BothAdditionsGone()
    {
        var order = new List<int>();
        var bag = new SubscriptionBag();
        var probe = new Probe(order, 1);
        bag.Add(probe);
        bag.Add(probe);

        Assert.True(bag.Remove(probe));
        Assert.True(bag.Remove(probe));
        Assert.False(bag.Remove(probe));
        Assert.Equal(0, bag.Count);
        bag.Dispose();
        Assert.Equal(0, probe.Disposals);
    }

    [Fact]
    public void Remove_ValueTypeItem_Removed()
    {
        using var cts = new CancellationTokenSource();
        var bag = new SubscriptionBag();
        var registration = cts.Token.Register(static () => { });
        bag.Add(registration);

        Assert.True(bag.Remove(registration));
        Assert.Equal(0, bag.Count);
        registration.Dispose();
        bag.Dispose();
    }

    [Fact]
    public void RemoveMany_ThenAdd_KeepsOrderOfRemaining()
    {
        var order = new List<int>();
        var bag = new SubscriptionBag();
        var probes = Enumerable.Range(0, 200).Select(i => bag.Add(new Probe(order, i))).ToList();
        foreach (var probe in probes.Where(static p => p.Id % 3 != 0))
        {
            Assert.True(bag.Remove(probe));
        }

        bag.Add(new Probe(order, 1000));
        bag.Dispose();

        var expected = new List<int> { 1000 };
        expected.AddRange(Enumerable.Range(0, 200).Where(static i => i % 3 == 0).Reverse());
        Assert.Equal(expected, order);
    }

    [Fact]
    public void Remove_HundredThousandInRandomOrder_LeavesEmptyBag()
    {
        var bag = new SubscriptionBag();
        var items = Enumerable.Range(0, 100_000).Select(static _ => new NoOp()).ToArray();
        foreach (var item in items)
        {
            bag.Add(item);
        }

        new Random(42).Shuffle(items);
        foreach (var item in items)
        {
            Assert.True(bag.Remove(item));
        }

        Assert.Equal(0, bag.Count);
        bag.Dispose();
        Assert.All(items, static i => Assert.Equal(0, i.Disposals));
    }

    [Fact]
    public void NullArguments_Throw()
    {
        var bag = new SubscriptionBag();
        Assert.Throws<ArgumentNullException>(() => bag.Add<IDisposable>(null!));
        Assert.Throws<ArgumentNullException>(() => bag.Remove(null!));
        Assert.Throws<ArgumentNullException>(() => new NoOp().DisposeWith(null!));
    }

    [Fact]
    public void DisposeWith_AddsToBag()
    {
        var bag = new SubscriptionBag();
        var item = new NoOp().DisposeWith(bag);

        Assert.Equal(1, bag.Count);
        bag.Dispose();
        Assert.Equal(1, item.Disposals);
    }

    [Fact]
    public void Lifetime_CancelledWhenBagDisposed()
    {
        var bag = new SubscriptionBag();
        var lifetime = bag.Lifetime;
        Assert.False(lifetime.IsCancellationRequested);

        bag.Dispose();

        Assert.True(lifetime.IsCancellationRequested);
        Assert.True(bag.Lifetime.IsCancellationRequested);
    }

    [Fact]
    public void Lifetime_CancelledBeforeItemsAreDisposed()
    {
        var bag = new SubscriptionBag();
        var cancelledFirst = false;
        var token = bag.Lifetime;
        bag.Add(new ActionDisposable(() => cancelledFirst = token.IsCancellationRequested));

        bag.Dispose();

        Assert.True(cancelledFirst);
    }

    [Fact]
    public void ConstructorLifetime_Cancelled_DisposesBagAndItems()
    {
        using var cts = new CancellationTokenSource();
        var order = new List<int>();
        var bag = new SubscriptionBag(cts.Token);
        bag.Add(new Probe(order, 1));
        bag.Add(new Probe(order, 2));

        cts.Cancel();

        Assert.True(bag.IsDisposed);
        Assert.Equal([2, 1], order);
    }

    [Fact]
    public void ConstructorLifetime_AlreadyCancelled_BagIsBornDisposed()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var order = new List<int>();
        var bag = new SubscriptionBag(cts.Token);
        bag.Add(new Probe(order, 1));

        Assert.True(bag.IsDisposed);
        Assert.Equal([1], order);
    }

    [Fact]
    public void ConstructorLifetime_BagDisposedFirst_LaterCancelDoesNothing()
    {
        using var cts = new CancellationTokenSource();
        var order = new List<int>();
        var bag = new SubscriptionBag(cts.Token);
        bag.Add(new Probe(order, 1));
        bag.Dispose();

        cts.Cancel();

        Assert.Equal([1], order);
    }

    [Fact]
    public async Task DisposeAsync_AwaitsAsyncItemsLastInFirstOut()
    {
        var order = new List<string>();
        var bag = new SubscriptionBag();
        bag.Add(new ActionDisposable(() => order.Add("sync")));
        bag.Add(new AsyncProbe(order));

        await bag.DisposeAsync().Bounded();
        await bag.DisposeAsync().Bounded();

        Assert.Equal(["async", "sync"], order);
    }

    [Fact]
    public async Task DisposeAsync_SomeThrow_Aggregates()
    {
        var order = new List<int>();
        var bag = new SubscriptionBag();
        bag.Add(new Probe(order, 0, fail: true));
        bag.Add(new Probe(order, 1));

        var ex = await Assert.ThrowsAsync<AggregateException>(async () => await bag.DisposeAsync().Bounded());

        Assert.Single(ex.InnerExceptions);
        Assert.Equal([1, 0], order);
    }

    // The failures are listed in disposal order (last in first out) by both: DisposeAsync disposes its registrations
    // (here a subscription whose remove accessor throws) first, but their failures keep their items' places (it listed
    // them before the failure of a plain item added after them).
    [Fact]
    public async Task DisposeAsync_SomeThrow_ListsFailuresInDisposalOrderAsDispose()
    {
        var source = new TestSource();
        var disposed = Assert.Throws<AggregateException>(Fill(source).Dispose);
        var disposedAsync = await Assert.ThrowsAsync<AggregateException>(async () => await Fill(source).DisposeAsync().Bounded());

        string[] expected = ["probe 3 failed", "remove failed", "probe 1 failed"];
        Assert.Equal(expected, disposed.InnerExceptions.Select(static e => e.Message));
        Assert.Equal(expected, disposedAsync.InnerExceptions.Select(static e => e.Message));

        static SubscriptionBag Fill(TestSource source)
        {
            var order = new List<int>();
            var bag = new SubscriptionBag();
            bag.Add(new Probe(order, 0));
            bag.Add(new Probe(order, 1, fail: true));
            bag.Add(Subscribe.Event(source, static (s, h) => s.Changed += h, static (_, _) => throw new InvalidOperationException("remove failed"), (EventHandler)((_, _) => { })));
            bag.Add(new Probe(order, 3, fail: true));
            return bag;
        }
    }

    [Fact]
    public async Task Dispose_Concurrent_DisposesEachItemOnce()
    {
        for (var round = 0; round < 20; round++)
        {
            var bag = new SubscriptionBag();
            var items = Enumerable.Range(0, 100).Select(_ => bag.Add(new NoOp())).ToArray();
            using var barrier = new Barrier(3);
            var tasks = Enumerable.Range(0, 3).Select(_ => Task.Factory.StartNew(
                () =>
                {
                    barrier.SignalAndWaitBounded();
                    bag.Dispose();
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default)).ToArray();
            await Task.WhenAll(tasks).Bounded();

            Assert.All(items, static i => Assert.Equal(1, i.Disposals));
        }
    }

    internal sealed class Probe(List<int> order, int id, bool fail = false) : IDisposable
    {
        public int Id => id;

        public int Disposals { get; private set; }

        public void Dispose()
        {
            Disposals++;
            order.Add(id);
            if (fail)
            {
                throw new InvalidOperationException($"probe {id} failed");
            }
        }
    }

    internal sealed class NoOp : IDisposable
    {
        private int _disposals;

        public int Disposals => Volatile.Read(ref _disposals);

        public void Dispose() => Interlocked.Increment(ref _disposals);
    }

    private sealed class ActionDisposable(Action action) : IDisposable
    {
        public void Dispose() => action();
    }

    private sealed class AsyncProbe(List<string> order) : IDisposable, IAsyncDisposable
    {
        public void Dispose() => order.Add("sync-of-async");

        public async ValueTask DisposeAsync()
        {
            await Task.Yield();
            order.Add("async");
        }
    }
}
