using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.ObjectPool;
using SafeRefs.Pooling;

namespace SafeRefs.Benchmarks.Pooling;

/// <summary>
/// One use of a pooled object with two per-use handlers: raw <c>Get</c> + 2 × <c>+=</c> + 2 × <c>-=</c> + <c>Return</c>
/// (baseline) against <c>Rent</c> + 2 × <c>On</c> + <c>Dispose</c> (bar: raw + 30 ns, 0 B); and the empty use
/// (<c>Get</c> + <c>Return</c> against <c>Rent</c> + <c>Dispose</c>). All on one thread; see
/// <see cref="GuardedPoolCrossThreadBenchmarks"/> for leases ended on another thread.
/// </summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // BenchmarkDotNet owns the lifetime; the pool is built over its own inner pool (nothing to dispose).
public class GuardedPoolBenchmarks
{
    private readonly EventHandler _changed = static (_, _) => { };
    private readonly EventHandler<int> _ticked = static (_, _) => { };
    private DefaultObjectPool<Item> _raw = null!;
    private GuardedObjectPool<Item> _guarded = null!;
    private readonly Lock _lock = new();
    private int _state;
    private int _version;
    private long _rented;
    private long _detached;
    private long _returned;

    [GlobalSetup]
    public void Setup()
    {
        _raw = new DefaultObjectPool<Item>(new DefaultPooledObjectPolicy<Item>());
        _guarded = new GuardedObjectPool<Item>(new DefaultObjectPool<Item>(new DefaultPooledObjectPolicy<Item>()));
    }

    [Benchmark(Baseline = true)]
    public void RawGetTwoHandlersReturn()
    {
        var item = _raw.Get();
        item.Changed += _changed;
        item.Ticked += _ticked;
        item.Changed -= _changed;
        item.Ticked -= _ticked;
        _raw.Return(item);
    }

    [Benchmark]
    public void RentTwoOnDispose()
    {
        using var lease = _guarded.Rent();
        lease.On(static (i, h) => i.Changed += h, static (i, h) => i.Changed -= h, _changed)
            .On(static (i, h) => i.Ticked += h, static (i, h) => i.Ticked -= h, _ticked);
    }

    /// <summary>
    /// Reference floor, not a SafeRefs API: the baseline plus the three interlocked operations a thread-safe lease needs
    /// at least (one to enter the lease's state per <c>On</c>, one to end the lease exactly once); the guard takes the
    /// object's <c>Lock</c> at each of these points.
    /// </summary>
    [Benchmark]
    public void RawGetTwoHandlersReturnPlusLeaseFloor()
    {
        var item = _raw.Get();
        Interlocked.CompareExchange(ref _state, 1, 0);
        item.Changed += _changed;
        Volatile.Write(ref _state, 0);
        Interlocked.CompareExchange(ref _state, 1, 0);
        item.Ticked += _ticked;
        Volatile.Write(ref _state, 0);
        Interlocked.CompareExchange(ref _state, 1, 0);
        Volatile.Write(ref _state, 0);
        item.Changed -= _changed;
        item.Ticked -= _ticked;
        _raw.Return(item);
    }

    /// <summary>
    /// Reference, not a SafeRefs API: the baseline plus the synchronisation the guard performs, and nothing else of it:
    /// one <see cref="Lock"/> round trip per <c>On</c> and one to end the lease, and the pool's three statistics
    /// counters (rented, detached, returned). The gap to <see cref="RentTwoOnDispose"/> is the rest of the guard.
    /// </summary>
    [Benchmark]
    public void RawGetTwoHandlersReturnPlusGuardSynchronization()
    {
        var item = _raw.Get();
        Interlocked.Increment(ref _rented);
        lock (_lock)
        {
            item.Changed += _changed;
        }

        lock (_lock)
        {
            item.Ticked += _ticked;
        }

        lock (_lock)
        {
            _version++;
        }

        item.Changed -= _changed;
        item.Ticked -= _ticked;
        Interlocked.Add(ref _detached, 2);
        _raw.Return(item);
        Interlocked.Increment(ref _returned);
    }

    [Benchmark]
    public void RawGetReturn()
    {
        _raw.Return(_raw.Get());
    }

    /// <summary>Reference floor, not a SafeRefs API: raw <c>Get</c> + <c>Return</c> plus the one interlocked operation that ends a lease exactly once.</summary>
    [Benchmark]
    public void RawGetReturnPlusLeaseFloor()
    {
        var item = _raw.Get();
        Interlocked.CompareExchange(ref _state, 1, 0);
        Volatile.Write(ref _state, 0);
        _raw.Return(item);
    }

    [Benchmark]
    public void RentDispose()
    {
        _guarded.Rent().Dispose();
    }

    public sealed class Item
    {
        public event EventHandler? Changed;

        public event EventHandler<int>? Ticked;

        public void Raise()
        {
            Changed?.Invoke(this, EventArgs.Empty);
            Ticked?.Invoke(this, 0);
        }
    }
}
#pragma warning restore CA1001
