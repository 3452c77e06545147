using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.ObjectPool;
using SafeRefs.Caching;
using SafeRefs.Events;
using SafeRefs.Pooling;
using SafeRefs.Subscriptions;
using SafeRefs.Testing;
using SafeRefs.Timers;

// A small app that takes SafeRefs as a package and uses one primitive from each area.
var failures = new List<string>();

// Subscriptions: a plain event, detached by the bag.
var source = new Source();
using (var bag = new SubscriptionBag())
{
    Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }))
        .DisposeWith(bag);
    Check(source.ListenerCount == 1, "Subscribe.Event attached");
}

Check(source.ListenerCount == 0, "SubscriptionBag detached on dispose");

// Events: an owner-bound weak handler.
var weak = new WeakEvent<int>();
var owner = new Counter();
using (weak.Subscribe(owner, static (o, _, n) => o.Add(n)))
{
    weak.Raise(null, 5);
}

weak.Raise(null, 7);
Check(owner.Total == 5, "WeakEvent delivered while subscribed only");

// [WeakEvent]: the generator shipped in the package implements the partial event (this file would not compile
// without it), and the generated event holds its listener's target weakly.
var thermometer = new Thermometer();
var display = new Counter();
thermometer.Changed += display.OnChanged;
thermometer.Report(3);
Check(display.Total == 3, "[WeakEvent] generated event delivered");
GC.KeepAlive(display);

// SafeRefs.Testing: the generated weak event does not keep a subscriber alive.
try
{
    GcAssert.Collected(() =>
    {
        var subscriber = new Counter();
        thermometer.Changed += subscriber.OnChanged;
        return subscriber;
    });
}
catch (ObjectNotCollectedException e)
{
    Check(false, "[WeakEvent] subscriber collected: " + e.Message);
}

GC.KeepAlive(thermometer);

// SafeRefs.Testing.Heap: a heap snapshot of this process sees the thermometer (only when asked: the trimmed run skips
// it, the diagnostics client it uses is not trim-safe).
if (args.Contains("--heap"))
{
    var snapshot = HeapSnapshot.Capture();
    Check(snapshot.CountOf<Thermometer>() == 1, "heap snapshot counted the thermometer");
    GC.KeepAlive(thermometer);
}

// Timers: a scope that owns its timers.
await using (var scope = new TimerScope())
{
    var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    scope.After(TimeSpan.FromMilliseconds(1), () => fired.TrySetResult());
    await fired.Task.WaitAsync(TimeSpan.FromSeconds(10));

    // A one-shot timer ends once its callback has returned (a Change inside the callback may re-arm it), which the
    // continuation of `fired` can observe a moment before.
    Check(SpinWait.SpinUntil(() => scope.ActiveCount == 0, TimeSpan.FromSeconds(10)), "one-shot timer left the scope");
}

// Pooling: per-lease listeners are detached on return.
var pool = new DefaultObjectPoolProvider().CreateGuarded(new DefaultPooledObjectPolicy<Source>());
using (var lease = pool.Rent())
{
    lease.On<EventHandler>(static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (_, _) => { });
    Check(lease.Value.ListenerCount == 1, "lease attached a listener");
}

using (var lease = pool.Rent())
{
    Check(lease.Value.ListenerCount == 0, "the next renter sees no foreign listener");
}

// Caching: strictly bounded, also as the app's IMemoryCache.
using var cache = new BoundedLruCache<int, string>(capacity: 2);
cache.Set(1, "one");
cache.Set(2, "two");
cache.Set(3, "three");
Check(cache.Count == 2, "BoundedLruCache stayed within capacity");
using var services = new ServiceCollection().AddBoundedMemoryCache(o => o.Capacity = 10).BuildServiceProvider();
Check(services.GetRequiredService<Microsoft.Extensions.Caching.Memory.IMemoryCache>() is BoundedMemoryCache, "IMemoryCache is bounded");

foreach (var failure in failures)
{
    Console.Error.WriteLine("FAILED: " + failure);
}

Console.WriteLine(failures.Count == 0 ? "SafeRefs package consumer: all checks passed" : $"{failures.Count} check(s) failed");
return failures.Count == 0 ? 0 : 1;

void Check(bool condition, string what)
{
    if (!condition)
    {
        failures.Add(what);
    }
}

internal sealed class Source
{
    public event EventHandler? Changed;

    public int ListenerCount => Changed?.GetInvocationList().Length ?? 0;

    public void Raise() => Changed?.Invoke(this, EventArgs.Empty);
}

internal sealed class Counter
{
    public int Total { get; private set; }

    public void Add(int n) => Total += n;

    public void OnChanged(object? sender, int n) => Total += n;
}

internal sealed partial class Thermometer
{
    [WeakEvent]
    public partial event EventHandler<int>? Changed;

    public void Report(int value) => OnChanged(value);
}
