using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Caching;
using SafeRefs.Events;
using SafeRefs.Pooling;
using SafeRefs.Subscriptions;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Diagnostics;

/// <summary>Random operation sequences on a primitive; the recorded counts match a model after every step.</summary>
public sealed class MetricsPropertyTests
{
    private static Arbitrary<(int Op, int Pick)[]> Operations(int opCount)
    {
        var step = from o in Gen.Choose(0, opCount - 1)
                   from p in Gen.Choose(0, 1000)
                   select (o, p);
        return Gen.ArrayOf(step).ToArbitrary();
    }

    // Operation codes: 0 Subscribe(owner), 1 Add(weak-target handler), 2 dispose a subscription, 3 Remove a handler.
    [Property(MaxTest = 100)]
    public Property WeakEventHandlers_RandomAddRemove_MatchModel() =>
        Prop.ForAll(Operations(4), ops => ReplayWeakEvent(ops));

    // Operation codes: 0 Rent, 1 end a lease, 2 attach a listener through a lease, 3 Get + Return.
    [Property(MaxTest = 100)]
    public Property PoolLeases_RandomRentReturnAttach_MatchModel() =>
        Prop.ForAll(Operations(4), ops => ReplayPool(ops));

    // Operation codes: 0 Set, 1 TryGet, 2 TryRemove, 3 Clear, 4 advance the clock 3 s (entries live 10 s).
    [Property(MaxTest = 100)]
    public Property CacheLookupsAndExpiry_RandomOperations_MatchModel() =>
        Prop.ForAll(Operations(5), ops => ReplayCache(ops));

    // Operation codes: 0 Every(1 h), 1 After(5 s), 2 Delay(5 s), 3 CancelAfter(5 s), 4 dispose a periodic timer,
    // 5 advance the clock 3 s.
    [Property(MaxTest = 100)]
    public Property TimersActive_RandomOperations_MatchModel() =>
        Prop.ForAll(Operations(6), ops => ReplayTimers(ops));

    private static bool ReplayCache((int Op, int Pick)[] operations)
    {
        // Capacity above the key space, so entries leave only through expiry, removal or Clear: the model knows
        // exactly which lookups hit. The sweep interval is longer than any run, so expired entries leave only
        // when touched (read or overwritten: an "expired" eviction) or removed/cleared (not an eviction).
        var name = "metrics-cache-property-" + Guid.NewGuid().ToString("N");
        using var hits = MetricTotals.Collect("saferefs.cache.hits");
        using var misses = MetricTotals.Collect("saferefs.cache.misses");
        using var evictions = MetricTotals.Collect("saferefs.cache.evictions");
        using var entries = MetricTotals.Collect("saferefs.cache.entry.count");
        var time = new FakeTimeProvider();
        using var cache = new BoundedLruCache<int, int>(new BoundedLruCacheOptions<int, int>
        {
            Capacity = 16,
            Name = name,
            ExpireAfterWrite = TimeSpan.FromSeconds(10),
            ExpirationScanInterval = TimeSpan.FromDays(1),
            TimeProvider = time,
        });
        var written = new Dictionary<int, long>();   // key -> write time in seconds
        long now = 0, hitModel = 0, missModel = 0, expiredModel = 0;

        foreach (var (op, pick) in operations)
        {
            var key = pick % 8;
            var expired = written.TryGetValue(key, out var at) && now - at >= 10;
            switch (op)
            {
                case 0:
                    cache.Set(key, pick);
                    expiredModel += expired ? 1 : 0;
                    written[key] = now;
                    break;
                case 1:
                    var found = cache.TryGet(key, out _);
                    var live = written.ContainsKey(key) && !expired;
                    if (found != live)
                    {
                        return false;
                    }

                    hitModel += live ? 1 : 0;
                    missModel += live ? 0 : 1;
                    if (expired)
                    {
                        expiredModel++;
                        written.Remove(key);
                    }

                    break;
                case 2:
                    if (cache.TryRemove(key, out _) != written.Remove(key))
                    {
                        return false;
                    }

                    break;
                case 3:
                    cache.Clear();
                    written.Clear();
                    break;
                case 4:
                    time.Advance(TimeSpan.FromSeconds(3));
                    now += 3;
                    break;
            }

            entries.RecordObservableInstruments();
            var lastEntries = entries.GetMeasurementSnapshot().Last(m => Equals(m.Tags["saferefs.cache.name"], name)).Value;
            if (MetricTotals.Sum(hits, "saferefs.cache.name", name) != hitModel
                || MetricTotals.Sum(misses, "saferefs.cache.name", name) != missModel
                || MetricTotals.Sum(evictions, "saferefs.cache.name", name) != expiredModel
                || lastEntries != written.Count
                || cache.Count != written.Count)
            {
                return false;
            }
        }

        return evictions.GetMeasurementSnapshot()
            .Where(m => Equals(m.Tags["saferefs.cache.name"], name) && m.Value != 0)
            .All(m => Equals(m.Tags["saferefs.cache.eviction.reason"], "expired"));
    }

    private static bool ReplayTimers((int Op, int Pick)[] operations)
    {
        var name = "metrics-timers-property-" + Guid.NewGuid().ToString("N");
        using var active = MetricTotals.Collect("saferefs.timer.active");
        var time = new FakeTimeProvider();
        using var scope = new TimerScope(time) { Name = name };
        var periodic = new List<ScopedTimer>();
        var oneShotDue = new List<long>();   // due times (s) of one-shots, delays and CancelAfter sources
        long now = 0;

        foreach (var (op, pick) in operations)
        {
            switch (op)
            {
                case 0:
                    periodic.Add(scope.Every(TimeSpan.FromHours(1), static () => { }));
                    break;
                case 1:
                    scope.After(TimeSpan.FromSeconds(5), static () => { });
                    oneShotDue.Add(now + 5);
                    break;
                case 2:
                    _ = scope.Delay(TimeSpan.FromSeconds(5));
                    oneShotDue.Add(now + 5);
                    break;
                case 3:
                    _ = scope.CancelAfter(TimeSpan.FromSeconds(5));
                    oneShotDue.Add(now + 5);
                    break;
                case 4 when periodic.Count > 0:
                    var i = pick % periodic.Count;
                    periodic[i].Dispose();
                    periodic.RemoveAt(i);
                    break;
                case 5:
                    time.Advance(TimeSpan.FromSeconds(3));
                    now += 3;
                    oneShotDue.RemoveAll(due => due <= now);
                    break;
            }

            var model = periodic.Count + oneShotDue.Count;
            if (MetricTotals.Sum(active, "saferefs.timer.scope.name", name) != model || scope.ActiveCount != model)
            {
                return false;
            }
        }

        scope.Dispose();
        return MetricTotals.Sum(active, "saferefs.timer.scope.name", name) == 0;
    }

    private static bool ReplayWeakEvent((int Op, int Pick)[] operations)
    {
        var name = "metrics-property-" + Guid.NewGuid().ToString("N");
        using var handlers = MetricTotals.Collect("saferefs.weak_event.handler.count");
        var ev = new WeakEvent<int>(new WeakEventOptions { Name = name });
        var owner = new object();
        var subscriptions = new List<Subscription>();
        var targets = new List<Target>();
        var attached = 0;

        foreach (var (op, pick) in operations)
        {
            switch (op)
            {
                case 0:
                    subscriptions.Add(ev.Subscribe(owner, static (_, _, _) => { }));
                    attached++;
                    break;
                case 1:
                    var target = new Target();
                    targets.Add(target);
                    ev.Add(target.Handle);
                    attached++;
                    break;
                case 2 when subscriptions.Count > 0:
                    var i = pick % subscriptions.Count;
                    subscriptions[i].Dispose();
                    subscriptions.RemoveAt(i);
                    attached--;
                    break;
                case 3 when targets.Count > 0:
                    var j = pick % targets.Count;
                    ev.Remove(targets[j].Handle);
                    targets.RemoveAt(j);
                    attached--;
                    break;
            }

            if (MetricTotals.Sum(handlers, "saferefs.event.name", name) != attached || ev.Count != attached)
            {
                return false;
            }
        }

        GC.KeepAlive(owner);
        GC.KeepAlive(targets);
        return true;
    }

    private static bool ReplayPool((int Op, int Pick)[] operations)
    {
        using var outstanding = MetricTotals.Collect("saferefs.pool.lease.outstanding");
        using var detached = MetricTotals.Collect("saferefs.pool.listener.detached");
        var pool = new GuardedObjectPool<PropertyWidget>(
            new DefaultObjectPool<PropertyWidget>(new DefaultPooledObjectPolicy<PropertyWidget>()),
            new GuardedObjectPoolOptions<PropertyWidget> { MaxListenersPerEvent = 0 });
        var tag = typeof(PropertyWidget).FullName!;
        var leases = new List<(PoolLease<PropertyWidget> Lease, int Listeners)>();
        long detachedModel = 0;

        try
        {
            foreach (var (op, pick) in operations)
            {
                switch (op)
                {
                    case 0:
                        leases.Add((pool.Rent(), 0));
                        break;
                    case 1 when leases.Count > 0:
                        var i = pick % leases.Count;
                        leases[i].Lease.Dispose();
                        detachedModel += leases[i].Listeners;
                        leases.RemoveAt(i);
                        break;
                    case 2 when leases.Count > 0:
                        var j = pick % leases.Count;
                        leases[j].Lease.On<EventHandler>(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, static (_, _) => { });
                        leases[j] = (leases[j].Lease, leases[j].Listeners + 1);
                        break;
                    case 3:
                        pool.Return(pool.Get());
                        break;
                }

                if (MetricTotals.Sum(outstanding, "saferefs.pool.object.type", tag) != leases.Count
                    || MetricTotals.Sum(detached, "saferefs.pool.object.type", tag) != detachedModel)
                {
                    return false;
                }
            }

            return true;
        }
        finally
        {
            foreach (var (lease, _) in leases)
            {
                lease.Dispose();
            }
        }
    }

    private sealed class Target
    {
        public int Calls { get; private set; }

        public void Handle(object? sender, int args) => Calls++;
    }

    // Only this class rents this type, so its saferefs.pool.object.type tag isolates these measurements.
    private sealed class PropertyWidget
    {
        public event EventHandler? Changed;

        public void Raise() => Changed?.Invoke(this, EventArgs.Empty);
    }
}
