using SafeRefs.Testing.Heap.Tests.Infrastructure;

namespace SafeRefs.Testing.Heap.Tests.Docs;

/// <summary>The examples of docs/testing.md (leak hunting) and README.md, compiled and run.</summary>
[Collection(HeapCollection.Name)]
public sealed class HeapDocs
{
    [Fact]
    public void Readme_LeakHuntQuickStart_Runs()
    {
        var cache = new OrderCache(capacity: 50);

        #region docs-readme-leakhunt
        LeakReport report = LeakHunt.Run(() => cache.Add(new Order(Random.Shared.Next())), manyIterations: 1000);

        report.AssertNoGrowth();   // throws ObjectNotCollectedException with a table of what grew
        GC.KeepAlive(cache);
        #endregion
    }

    [Fact]
    public void Testing_LeakHuntFindsSubscriber_Runs()
    {
        #region docs-testing-leakhunt-report
        var publisher = new Publisher();

        LeakReport report = LeakHunt.Run(() => publisher.Changed += new Subscriber().OnChanged);

        Console.WriteLine(report);   // the table below
        GrowingType subscribers = Assert.Single(report.Suspects, s => s.TypeName == HeapSnapshot.NameOf(typeof(Subscriber)));
        Assert.InRange(subscribers.GrowthPerOperation, 0.9, 1.1);
        GC.KeepAlive(publisher);
        #endregion
    }

    [Fact]
    public void Testing_SnapshotAndDiff_Runs()
    {
        #region docs-testing-snapshot
        HeapSnapshot before = HeapSnapshot.Capture();
        List<Order> orders = LoadOrders(1_000);
        HeapSnapshot after = HeapSnapshot.Capture();

        HeapDiff diff = HeapSnapshot.Compare(before, after);
        Assert.Equal(1_000, diff.CountDeltaOf<Order>());
        Assert.Equal(1, after.CountOf<List<Order>>());   // generic and nested names work too
        Console.WriteLine(diff);                         // changed types, largest first
        GC.KeepAlive(orders);
        #endregion
    }

    [Fact]
    public void Testing_Options_Runs()
    {
        #region docs-testing-options
        var options = new HeapSnapshotOptions { IncludeFrameworkTypes = false, Timeout = TimeSpan.FromMinutes(1) };
        options.Assemblies.Add(typeof(Order).Assembly.GetName().Name!);   // only your own types

        LeakReport report = LeakHunt.Run(() => _ = new Order(1), fewIterations: 20, manyIterations: 200, options);
        report.AssertNoGrowth();
        #endregion
    }

    private static List<Order> LoadOrders(int count) => [.. Enumerable.Range(0, count).Select(i => new Order(i))];

    private sealed class Order(int id)
    {
        public int Id { get; } = id;
    }

    private sealed class OrderCache(int capacity)
    {
        private readonly Queue<Order> _orders = new();

        public void Add(Order order)
        {
            if (_orders.Count == capacity)
            {
                _orders.Dequeue();
            }

            _orders.Enqueue(order);
        }
    }

    private sealed class Publisher
    {
        public event EventHandler? Changed;

        public void Raise() => Changed?.Invoke(this, EventArgs.Empty);
    }

    private sealed class Subscriber
    {
        public int Calls { get; private set; }

        public void OnChanged(object? sender, EventArgs e) => Calls++;
    }
}
