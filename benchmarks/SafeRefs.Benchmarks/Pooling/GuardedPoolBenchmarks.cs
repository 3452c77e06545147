using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.ObjectPool;
using SafeRefs.Internal;
using SafeRefs.Pooling;

namespace SafeRefs.Benchmarks.Pooling;

/// <summary>
/// One use of a pooled object with two per-use handlers: raw <c>Get</c> + 2 × <c>+=</c> + 2 × <c>-=</c> + <c>Return</c>
/// (baseline) against <c>Rent</c> + 2 × <c>On</c> + <c>Dispose</c> (bar: raw + 30 ns, 0 B); and the empty use
/// (<c>Get</c> + <c>Return</c> against <c>Rent</c> + <c>Dispose</c> and the guarded pool's own <c>Get</c> + <c>Return</c>).
/// All on one thread; see
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
    private readonly ConditionalWeakTable<Item, Lock> _floorStates = new();
    private readonly StripedCounters _floorCounters = new(3);
    private int _version;

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
    /// Reference floor, not a SafeRefs API: the baseline plus only what any guard within the library's rules must do —
    /// find the object's guard state (a <see cref="ConditionalWeakTable{TKey, TValue}"/> lookup: the inner pool hands out
    /// bare objects), one <see cref="Lock"/> round trip per <c>On</c> (its add accessor must not overlap an end on
    /// another thread, and may re-enter the lease) and one to end the lease (it must wait for such an accessor), and
    /// the statistics' three exact counters (rented, detached, returned; striped as the pool's are), and a forwarder per
    /// <c>On</c> (see <see cref="FloorForwarder"/>: the reason 0 B is not reachable with handlers attached). The gap to
    /// <see cref="RentTwoOnDispose"/> is the rest of the guard.
    /// </summary>
    [Benchmark]
    public void RawGetTwoHandlersReturnPlusGuardFloor()
    {
        var item = _raw.Get();
        var gate = _floorStates.GetOrAdd(item, static _ => new Lock());
        _floorCounters.Increment(0);
        var changed = new EventHandler(new FloorForwarder(item, _changed).OnChanged);
        lock (gate)
        {
            item.Changed += changed;
        }

        var ticked = new EventHandler<int>(new FloorForwarder(item, _ticked).OnTicked);
        lock (gate)
        {
            item.Ticked += ticked;
        }

        lock (gate)
        {
            _version++;
        }

        item.Changed -= changed;
        item.Ticked -= ticked;
        _floorCounters.Add(2, 2);
        _raw.Return(item);
        _floorCounters.Increment(1);
    }

    [Benchmark]
    public void RawGetReturn()
    {
        _raw.Return(_raw.Get());
    }

    /// <summary>Reference floor, not a SafeRefs API: raw <c>Get</c> + <c>Return</c> plus the guard state lookup, one
    /// <see cref="Lock"/> round trip to end the lease, and the rented and returned counters (see
    /// <see cref="RawGetTwoHandlersReturnPlusGuardFloor"/>).</summary>
    [Benchmark]
    public void RawGetReturnPlusGuardFloor()
    {
        var item = _raw.Get();
        var gate = _floorStates.GetOrAdd(item, static _ => new Lock());
        _floorCounters.Increment(0);
        lock (gate)
        {
            _version++;
        }

        _raw.Return(item);
        _floorCounters.Increment(1);
    }

    [Benchmark]
    public void RentDispose()
    {
        _guarded.Rent().Dispose();
    }

    /// <summary>The <see cref="ObjectPool{T}"/> use of the guarded pool, without a lease: <c>Get</c> + <c>Return</c>
    /// (bar: 0 B when no lease escapes).</summary>
    [Benchmark]
    public void GetReturn()
    {
        _guarded.Return(_guarded.Get());
    }

    /// <summary>
    /// The least a guard adds to the event per <c>On</c> while keeping "no handler starts once the lease ended": a raise
    /// may call a copy of the event's delegate that it read before the <c>-=</c>, so the event must hold a delegate of
    /// this lease only (a delegate is 64 B), bound to an object that knows the lease and the handler (32 B). Reusing it
    /// in a later lease of the object would let such a raise start the later lease's handler; so 96 B per <c>On</c> is
    /// the floor, and 0 B with handlers attached is not reachable with the promise. (The check itself runs at a raise,
    /// which these rows do not measure.)
    /// </summary>
    public sealed class FloorForwarder(object lease, Delegate handler)
    {
        public object Lease { get; } = lease;

        public void OnChanged(object? sender, EventArgs e) => ((EventHandler)handler)(sender, e);

        public void OnTicked(object? sender, int e) => ((EventHandler<int>)handler)(sender, e);
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
