using Microsoft.Extensions.Time.Testing;
using SafeRefs.Pooling;

namespace SafeRefs.Tests.Pooling;

/// <summary>
/// A lease on a pool of one (on a fake clock) whose one timer callback has started and is held inside its body until
/// <see cref="Release"/>: the set-up of the tests that end a lease while its callback still runs.
/// </summary>
internal sealed class HeldLeaseCallback : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly ManualResetEventSlim _entered = new();
    private readonly ManualResetEventSlim _release = new();

    private HeldLeaseCallback(FakeTimeProvider clock)
    {
        Clock = clock;
        Pool = PoolOfOne(clock);
        Lease = Pool.Rent();
        Widget = Lease.Value;
    }

    public FakeTimeProvider Clock { get; }

    public GuardedObjectPool<Widget> Pool { get; }

    public PoolLease<Widget> Lease { get; }

    public Widget Widget { get; }

    /// <summary>Gets the clock's advance that runs the held callback (on a thread-pool thread); it completes after
    /// <see cref="Release"/>.</summary>
    public Task Advance { get; private set; } = Task.CompletedTask;

    /// <summary>Builds the pool of one that the lease comes from.</summary>
    public static GuardedObjectPool<Widget> PoolOfOne(FakeTimeProvider clock, GuardedObjectPoolOptions<Widget>? options = null)
    {
        options ??= new GuardedObjectPoolOptions<Widget>();
        options.TimeProvider = clock;
        return Widget.PoolOfOne(options);
    }

    /// <summary>Rents, starts a lease timer (repeating if <paramref name="periodic"/>) and returns once its callback is
    /// held; once released, the callback runs <paramref name="afterRelease"/> on the widget.</summary>
    public static HeldLeaseCallback Start(bool periodic, Action<Widget>? afterRelease = null)
    {
        var held = new HeldLeaseCallback(new FakeTimeProvider());
        var due = TimeSpan.FromSeconds(1);
        Action callback = () =>
        {
            held._entered.Set();
            held._release.Wait(Bound);
            afterRelease?.Invoke(held.Widget);
        };
        _ = periodic ? held.Lease.Timers.Every(due, callback) : held.Lease.Timers.After(due, callback);
        held.Advance = Task.Run(() => held.Clock.Advance(due));
        Assert.True(held._entered.Wait(Bound), "the lease timer callback did not start");
        return held;
    }

    /// <summary>Lets the held callback go on.</summary>
    public void Release() => _release.Set();

    public void Dispose()
    {
        _release.Set();
        Advance.Wait(Bound);
        _entered.Dispose();
        _release.Dispose();
    }
}
