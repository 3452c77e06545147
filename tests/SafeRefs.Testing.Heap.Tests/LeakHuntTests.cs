using SafeRefs.Caching;
using SafeRefs.Subscriptions;
using SafeRefs.Timers;
using SafeRefs.Testing.Heap.Tests.Infrastructure;

namespace SafeRefs.Testing.Heap.Tests;

/// <summary>
/// The four classic leaks, each beside its fix: the leak is reported with the right type at about one object per
/// operation, the fix reports no suspects at all (no filter), and a bounded cache is not mistaken for a leak.
/// </summary>
[Collection(HeapCollection.Name)]
public sealed class LeakHuntTests
{
    // The hunt counts every object of the process, the test host's too: its reporting threads (result caches, JSON
    // contracts, strings, byte arrays) can add ~100 objects while a hunt runs. Tests that expect no suspects for a
    // cheap operation run it this many times after the second snapshot, so that noise stays far below the default
    // threshold (0.5 per operation) while a leak of one object per operation still exceeds it.
    private const int ManyCheapOperations = 1000;

    private static readonly Dictionary<int, CacheEntry> UnboundedCache = [];
    private static int _nextKey;

    [Fact]
    public void Run_EventSubscriptionNeverRemoved_ReportsSubscriberAtOnePerOperation()
    {
        var publisher = new Publisher();

        LeakReport report = LeakHunt.Run(() =>
        {
            var subscriber = new Subscriber();
            publisher.Changed += subscriber.OnChanged;
        });

        AssertLeaks<Subscriber>(report);
        AssertLeaks<EventHandler>(report);
        GC.KeepAlive(publisher);
    }

    [Fact]
    public void Run_EventSubscriptionDisposedThroughSafeRefs_ReportsNoSuspects()
    {
        var publisher = new Publisher();

        LeakReport report = LeakHunt.Run(() =>
        {
            var subscriber = new Subscriber();
            using Subscription subscription = Subscribe.Event<Publisher, EventHandler>(
                publisher, static (p, h) => p.Changed += h, static (p, h) => p.Changed -= h, subscriber.OnChanged);
            publisher.Raise();
        }, manyIterations: ManyCheapOperations);

        AssertNoSuspects(report);
        GC.KeepAlive(publisher);
    }

    [Fact]
    public void Run_ClosureRegisteredOnLongLivedToken_ReportsCapturedPayload()
    {
        using var longLived = new CancellationTokenSource();

        LeakReport report = LeakHunt.Run(() =>
        {
            var payload = new Payload();
            longLived.Token.Register(() => payload.Touch());
        });

        AssertLeaks<Payload>(report);
        GC.KeepAlive(longLived);
    }

    [Fact]
    public void Run_ClosureRegistrationDisposed_ReportsNoSuspects()
    {
        using var longLived = new CancellationTokenSource();

        LeakReport report = LeakHunt.Run(() =>
        {
            var payload = new Payload();
            using CancellationTokenRegistration registration = longLived.Token.Register(() => payload.Touch());
        }, manyIterations: ManyCheapOperations);

        AssertNoSuspects(report);
        GC.KeepAlive(longLived);
    }

    [Fact]
    [System.Diagnostics.CodeAnalysis.SuppressMessage(
        "Reliability",
        "SR1003:Timer is never disposed",
        Justification = "Deliberate: the dropped enabled timer is the leak LeakHunt must report.")]
    public void Run_EnabledTimerDropped_ReportsTimerAndItsOwner()
    {
        // An enabled System.Timers.Timer is rooted by the timer queue and roots its Elapsed subscribers.
        LeakReport report = LeakHunt.Run(static () =>
        {
            var owner = new TimerOwner();
            var timer = new System.Timers.Timer(TimeSpan.FromHours(1));
            timer.Elapsed += owner.OnElapsed;
            timer.Start();
        });

        AssertLeaks<TimerOwner>(report);
        AssertLeaks<System.Timers.Timer>(report);
    }

    [Fact]
    public void Run_ClosureReplacedBySafeRefsOnCancel_ReportsNoSuspects()
    {
        using var longLived = new CancellationTokenSource();

        LeakReport report = LeakHunt.Run(() =>
        {
            var payload = new Payload();
            using Subscription subscription = Subscribe.OnCancel(longLived.Token, static state => ((Payload)state!).Touch(), payload);
        }, manyIterations: ManyCheapOperations);

        AssertNoSuspects(report);
        GC.KeepAlive(longLived);
    }

    [Fact]
    public void Run_TimerDisposed_ReportsNoSuspects()
    {
        LeakReport report = LeakHunt.Run(static () =>
        {
            var owner = new TimerOwner();
            using var timer = new System.Timers.Timer(TimeSpan.FromHours(1));
            timer.Elapsed += owner.OnElapsed;
            timer.Start();
        }, manyIterations: ManyCheapOperations);

        AssertNoSuspects(report);
    }

    [Fact]
    public void Run_SafeRefsTimerScopeTimersDisposed_ReportsNoSuspects()
    {
        using var scope = new TimerScope();

        LeakReport report = LeakHunt.Run(() =>
        {
            var owner = new TimerOwner();
            using ScopedTimer timer = scope.Every(owner, TimeSpan.FromHours(1), static o => o.OnElapsed(null, null!));
        }, manyIterations: ManyCheapOperations);

        AssertNoSuspects(report);
        Assert.Equal(0, scope.ActiveCount);
        GC.KeepAlive(scope);
    }

    [Fact]
    public void Run_UnboundedStaticCache_ReportsEntriesAtOnePerOperation()
    {
        try
        {
            LeakReport report = LeakHunt.Run(static () =>
            {
                int key = Interlocked.Increment(ref _nextKey);
                UnboundedCache[key] = new CacheEntry(key);
            });

            AssertLeaks<CacheEntry>(report);
        }
        finally
        {
            UnboundedCache.Clear();
        }
    }

    [Fact]
    public void Run_BoundedCache_IsNotReported()
    {
        var cache = new BoundedCache(capacity: 20);

        LeakReport report = LeakHunt.Run(() =>
        {
            int key = Interlocked.Increment(ref _nextKey);
            cache.Add(key, new CacheEntry(key));
        }, manyIterations: ManyCheapOperations);

        AssertNoSuspects(report);
        Assert.Equal(20, cache.Count);
        GC.KeepAlive(cache);
    }

    [Fact]
    public void Run_SafeRefsBoundedLruCache_IsNotReported()
    {
        using var cache = new BoundedLruCache<int, CacheEntry>(capacity: 20);

        LeakReport report = LeakHunt.Run(() =>
        {
            int key = Interlocked.Increment(ref _nextKey);
            cache.Set(key, new CacheEntry(key));
        }, manyIterations: ManyCheapOperations);

        AssertNoSuspects(report);
        Assert.Equal(20, cache.Count);
        GC.KeepAlive(cache);
    }

    [Fact]
    public async Task RunAsync_LeakAcrossAwaits_ReportsIt()
    {
        var publisher = new Publisher();

        LeakReport report = await LeakHunt.RunAsync(async () =>
        {
            await Task.Yield();
            var subscriber = new Subscriber();
            publisher.Changed += subscriber.OnChanged;
        });

        AssertLeaks<Subscriber>(report);
        GC.KeepAlive(publisher);
    }

    [Fact]
    public void Run_OneListGrowsByOneItemPerOperation_ReportedByTheBytesRule()
    {
        // Guid[]: a type the test host does not otherwise allocate, so its count stays exactly one.
        var ids = new List<Guid>();

        LeakReport report = LeakHunt.Run(() => ids.Add(Guid.NewGuid()));

        GrowingType array = Assert.Single(report.Suspects, s => s.TypeName == "System.Guid[]");
        Assert.Equal(LeakRule.Bytes, array.Rule);
        Assert.Contains("| bytes |", report.ToString(), StringComparison.Ordinal);
        Assert.NotEmpty(array.RetentionPaths); // the largest Int32[] instances' paths: from one snapshot, the grown one is not known
        GC.KeepAlive(ids);
    }

    [Fact]
    public void AssertNoGrowth_SuspectHasAPath_MessageNamesWhatKeepsItAlive()
    {
        var publisher = new Publisher();
        LeakReport report = LeakHunt.Run(() => publisher.Changed += new Subscriber().OnChanged);

        ObjectNotCollectedException ex = Assert.Throws<ObjectNotCollectedException>(() => report.AssertNoGrowth(typeof(Subscriber).FullName!));

        GrowingType subscribers = Assert.Single(report.Suspects, s => s.TypeName == HeapSnapshot.NameOf(typeof(Subscriber)));
        RetentionPath top = subscribers.RetentionPaths[0];
        Assert.Equal(["System.EventHandler", "System.Object[]", "System.EventHandler", HeapSnapshot.NameOf(typeof(Publisher))], top.Hops.Skip(1).Take(4));
        Assert.True(top.Count >= 110, top.ToString());
        Assert.True(subscribers.RetainedBytes >= top.Bytes);
        Assert.Contains("kept alive by:", ex.Message, StringComparison.Ordinal);
        Assert.Contains("← " + HeapSnapshot.NameOf(typeof(Publisher)), ex.Message, StringComparison.Ordinal);
        GC.KeepAlive(publisher);
    }

    [Fact]
    public void AssertNoGrowth_NamedTypeGrew_ThrowsWithTable()
    {
        var publisher = new Publisher();
        LeakReport report = LeakHunt.Run(() => publisher.Changed += new Subscriber().OnChanged, fewIterations: 5, manyIterations: 50);

        ObjectNotCollectedException ex = Assert.Throws<ObjectNotCollectedException>(
            () => report.AssertNoGrowth(typeof(Subscriber).FullName!));

        Assert.Contains("| type |", ex.Message, StringComparison.Ordinal);
        Assert.Contains(HeapSnapshot.NameOf(typeof(Subscriber)), ex.Message, StringComparison.Ordinal);
        Assert.Contains(HeapSnapshot.NameOf(typeof(Subscriber)), ex.Survivors);
        Assert.Throws<ObjectNotCollectedException>(() => report.AssertNoGrowth());
        Assert.Throws<ObjectNotCollectedException>(() => report.AssertNoGrowth("SafeRefs.Testing.Heap.Tests.LeakHuntTests+Subscr"));
        report.AssertNoGrowth("Some.Other.Namespace.");    // names no suspect: passes
        Assert.Equal([0L, 5L, 55L], report.Operations);
        GC.KeepAlive(publisher);
    }

    [Fact]
    public void Run_NothingRetained_TheHuntsOwnSnapshotsAreNotReported()
    {
        // LeakHunt keeps the baseline and the second snapshot while it takes the last one: with one and two operations
        // and a low threshold, its own snapshots would look like +1 object per operation if it did not discount them.
        var options = new HeapSnapshotOptions { MinimumGrowthPerOperation = 0.1 };

        LeakReport report = LeakHunt.Run(static () => { }, fewIterations: 1, manyIterations: 2, options);

        // Only the hunt's own types that nothing else in the process grows are checked: HeapSnapshot and the long[] each
        // one holds. At this threshold a thread-pool thread started by one snapshot or the test host serializing results
        // on another thread (strings, reflection objects) would also count, which is noise this test is not about.
        string[] own = [HeapSnapshot.NameOf(typeof(HeapSnapshot)), HeapSnapshot.NameOf(typeof(long[]))];
        Assert.True(!report.Suspects.Any(s => own.Contains(s.TypeName)), report.ToString());
    }

    [Fact]
    public void ToString_NoSuspects_SaysSo()
    {
        // Not very few operations: a runtime object or two (a thread-pool thread starting) would be a large share of
        // an operation and read as growth.
        LeakReport report = LeakHunt.Run(static () => GC.KeepAlive(new Payload()), manyIterations: ManyCheapOperations);

        Assert.Empty(report.Suspects);
        Assert.StartsWith("No type grew", report.ToString(), StringComparison.Ordinal);
        report.AssertNoGrowth();
    }

    [Fact]
    public async Task RunAndRunAsync_InvalidArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => LeakHunt.Run(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => LeakHunt.Run(static () => { }, fewIterations: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => LeakHunt.Run(static () => { }, fewIterations: 10, manyIterations: 10));
        await Assert.ThrowsAsync<ArgumentNullException>(() => LeakHunt.RunAsync(null!));
    }

    private static void AssertLeaks<T>(LeakReport report)
    {
        string name = HeapSnapshot.NameOf(typeof(T));
        GrowingType? suspect = report.Suspects.FirstOrDefault(s => s.TypeName == name);
        Assert.True(suspect is not null, $"{name} was not reported. Report:\n{report}");
        Assert.InRange(suspect.GrowthPerOperation, 0.9, 1.1);
        Assert.Equal(3, suspect.Counts.Count);
        Assert.True(suspect.AfterManyCount - suspect.BaselineCount >= 100, report.ToString());
    }

    private static void AssertNoSuspects(LeakReport report)
    {
        Assert.True(report.Suspects.Count == 0, "Expected no suspects, got:\n" + report);
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

    private sealed class Payload
    {
        private readonly byte[] _data = new byte[64];

        public void Touch() => _data[0]++;
    }

    private sealed class TimerOwner
    {
        public int Ticks { get; private set; }

        public void OnElapsed(object? sender, System.Timers.ElapsedEventArgs e) => Ticks++;
    }

    private sealed class CacheEntry(int key)
    {
        public int Key { get; } = key;
    }

    /// <summary>A plain LRU bounded by capacity (stands in for SafeRefs' bounded caches until they land on main).</summary>
    private sealed class BoundedCache(int capacity)
    {
        private readonly Dictionary<int, LinkedListNode<(int Key, CacheEntry Value)>> _map = new(capacity);
        private readonly LinkedList<(int Key, CacheEntry Value)> _order = new();

        public int Count => _map.Count;

        public void Add(int key, CacheEntry value)
        {
            if (_map.Count == capacity)
            {
                LinkedListNode<(int Key, CacheEntry Value)> oldest = _order.Last!;
                _order.RemoveLast();
                _map.Remove(oldest.Value.Key);
            }

            _map[key] = _order.AddFirst((key, value));
        }
    }
}
