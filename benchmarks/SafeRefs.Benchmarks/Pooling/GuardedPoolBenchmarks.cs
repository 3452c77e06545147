using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.ObjectPool;
using SafeRefs.Pooling;

namespace SafeRefs.Benchmarks.Pooling;

/// <summary>
/// One use of a pooled object with two per-use handlers: raw <c>Get</c> + 2 × <c>+=</c> + 2 × <c>-=</c> + <c>Return</c>
/// (baseline) against <c>Rent</c> + 2 × <c>On</c> + <c>Dispose</c>; and the empty use (<c>Get</c> + <c>Return</c> against
/// <c>Rent</c> + <c>Dispose</c>).
/// </summary>
[MemoryDiagnoser]
public class GuardedPoolBenchmarks
{
    private readonly EventHandler _changed = static (_, _) => { };
    private readonly EventHandler<int> _ticked = static (_, _) => { };
    private DefaultObjectPool<Item> _raw = null!;
    private GuardedObjectPool<Item> _guarded = null!;
    private GuardedObjectPool<Item> _crossThread = null!;
    private int _state;

    [GlobalSetup]
    public void Setup()
    {
        _raw = new DefaultObjectPool<Item>(new DefaultPooledObjectPolicy<Item>());
        _guarded = new GuardedObjectPool<Item>(new DefaultObjectPool<Item>(new DefaultPooledObjectPolicy<Item>()));

        // A pool whose leases have been ended on another thread than the renting one often enough (as after an await)
        // that it no longer biases leases to their renting thread: every On and Dispose takes a compare-and-swap.
        _crossThread = new GuardedObjectPool<Item>(new DefaultObjectPool<Item>(new DefaultPooledObjectPolicy<Item>()));
        for (var i = 0; i < 16; i++)
        {
            var lease = _crossThread.Rent();
            var other = new Thread(lease.Dispose);
            other.Start();
            other.Join();
        }
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

    /// <summary>Reference, not a bar: <see cref="RentTwoOnDispose"/> on a pool whose leases stopped being biased to their renting thread.</summary>
    [Benchmark]
    public void RentTwoOnDisposeAfterCrossThreadUse()
    {
        using var lease = _crossThread.Rent();
        lease.On(static (i, h) => i.Changed += h, static (i, h) => i.Changed -= h, _changed)
            .On(static (i, h) => i.Ticked += h, static (i, h) => i.Ticked -= h, _ticked);
    }

    /// <summary>
    /// Reference floor, not a SafeRefs API: the baseline plus the three interlocked operations a thread-safe lease needs
    /// at least (one to enter the lease's state per <c>On</c>, one to end the lease exactly once).
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

    /// <summary>Reference, not a bar: <see cref="RentDispose"/> on a pool whose leases stopped being biased to their renting thread.</summary>
    [Benchmark]
    public void RentDisposeAfterCrossThreadUse()
    {
        _crossThread.Rent().Dispose();
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
