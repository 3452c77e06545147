using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.ObjectPool;
using SafeRefs.Internal;
using SafeRefs.Pooling;

namespace SafeRefs.Benchmarks.Pooling;

/// <summary>
/// Leases ended on another thread than they were rented on, as after an <see langword="await"/>: two threads (really
/// concurrent, see <see cref="ThreadTeam"/>) each end the <see cref="Batch"/> uses the other one started in the previous
/// invocation, then start <see cref="Batch"/> uses of their own. One use = raw <c>Get</c> + two <c>+=</c> on one thread
/// and two <c>-=</c> + <c>Return</c> on the other (baseline), against <c>Rent</c> + 2 × <c>On</c> on one thread and
/// <c>Dispose</c> on the other. Bar: raw + 30 ns per use. The time per use includes the team's hand-over, the same in
/// both rows.
/// </summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // BenchmarkDotNet owns the lifetime: the team is disposed in cleanup.
public class GuardedPoolCrossThreadBenchmarks
{
    /// <summary>The uses each thread starts (and ends) per invocation.</summary>
    public const int Batch = 64;

    private readonly EventHandler _changed = static (_, _) => { };
    private readonly EventHandler<int> _ticked = static (_, _) => { };
    // [parity][thread]: in an invocation of parity p, thread k ends the uses in [p][k] and starts uses into
    // [1 - p][1 - k], which the other thread ends in the next invocation; no array is touched by both threads at once.
    private readonly GuardedPoolBenchmarks.Item?[][][] _rawOut = NewBuffers<GuardedPoolBenchmarks.Item>();
    private readonly FloorLease?[][][] _floorOut = NewBuffers<FloorLease>();
    private readonly ConditionalWeakTable<GuardedPoolBenchmarks.Item, Lock> _floorStates = new();
    private readonly StripedCounters _floorCounters = new(3);
    private readonly PoolLease<GuardedPoolBenchmarks.Item>?[][][] _leasesOut = NewBuffers<PoolLease<GuardedPoolBenchmarks.Item>>();
    private int _parity;
    private DefaultObjectPool<GuardedPoolBenchmarks.Item> _raw = null!;
    private DefaultObjectPool<GuardedPoolBenchmarks.Item> _floorRaw = null!;
    private GuardedObjectPool<GuardedPoolBenchmarks.Item> _guarded = null!;
    private ThreadTeam _team = null!;
    private Action<int> _rawBody = null!;
    private Action<int> _guardedBody = null!;
    private Action<int> _floorBody = null!;

    [GlobalSetup]
    public void Setup()
    {
        _raw = new DefaultObjectPool<GuardedPoolBenchmarks.Item>(new DefaultPooledObjectPolicy<GuardedPoolBenchmarks.Item>(), 4 * Batch);
        _guarded = new GuardedObjectPool<GuardedPoolBenchmarks.Item>(
            new DefaultObjectPool<GuardedPoolBenchmarks.Item>(new DefaultPooledObjectPolicy<GuardedPoolBenchmarks.Item>(), 4 * Batch));
        _floorRaw = new DefaultObjectPool<GuardedPoolBenchmarks.Item>(new DefaultPooledObjectPolicy<GuardedPoolBenchmarks.Item>(), 4 * Batch);
        _team = new ThreadTeam(2);
        _rawBody = RawBody;
        _guardedBody = GuardedBody;
        _floorBody = FloorBody;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _team.Dispose();
        foreach (var lease in _leasesOut.SelectMany(static p => p).SelectMany(static t => t))
        {
            lease?.Dispose();
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public void RawGetTwoHandlersReturnAcrossThreads()
    {
        _parity ^= 1;
        _team.Run(_rawBody);
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public void RentTwoOnDisposeAcrossThreads()
    {
        _parity ^= 1;
        _team.Run(_guardedBody);
    }

    /// <summary>
    /// Reference floor, not a SafeRefs API: the baseline plus what any guard within the library's rules must do (see
    /// <see cref="GuardedPoolBenchmarks.RawGetTwoHandlersReturnPlusGuardFloor"/>): the guard state lookup, a
    /// <see cref="Lock"/> round trip per <c>+=</c> on the renting thread and one to end on the other, and the three
    /// striped counters, and a forwarder per <c>+=</c> (<see cref="GuardedPoolBenchmarks.FloorForwarder"/>); a use
    /// handed to the other thread is an object (as a lease is).
    /// </summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void RawGetTwoHandlersReturnAcrossThreadsPlusGuardFloor()
    {
        _parity ^= 1;
        _team.Run(_floorBody);
    }

    private static T?[][][] NewBuffers<T>()
        where T : class => [[new T?[Batch], new T?[Batch]], [new T?[Batch], new T?[Batch]]];

    // Thread `self` ends the uses thread 1 - self started, then starts its own for the other thread to end.
    private void RawBody(int self)
    {
        var mine = _rawOut[_parity][self];
        var theirs = _rawOut[1 - _parity][1 - self];
        for (var i = 0; i < Batch; i++)
        {
            if (mine[i] is { } item)
            {
                item.Changed -= _changed;
                item.Ticked -= _ticked;
                _raw.Return(item);
            }

            var next = _raw.Get();
#pragma warning disable SR1008 // the other thread removes them (above, in its next invocation) before it returns the item
            next.Changed += _changed;
            next.Ticked += _ticked;
#pragma warning restore SR1008
            mine[i] = null;
            theirs[i] = next;
        }
    }

    private void FloorBody(int self)
    {
        var mine = _floorOut[_parity][self];
        var theirs = _floorOut[1 - _parity][1 - self];
        for (var i = 0; i < Batch; i++)
        {
            if (mine[i] is { } use)
            {
                lock (use.Gate)
                {
                    use.Ended = true;
                }

                use.Item.Changed -= use.Changed;
                use.Item.Ticked -= use.Ticked;
                _floorCounters.Add(2, 2);
                _floorRaw.Return(use.Item);
                _floorCounters.Increment(1);
            }

            var item = _floorRaw.Get();
            var next = new FloorLease(item, _floorStates.GetOrAdd(item, static _ => new Lock()));
            _floorCounters.Increment(0);
#pragma warning disable SR1008 // the other thread removes them (above, in its next invocation) before it returns the item
            next.Changed = new EventHandler(new GuardedPoolBenchmarks.FloorForwarder(next, _changed).OnChanged);
            lock (next.Gate)
            {
                item.Changed += next.Changed;
            }

            next.Ticked = new EventHandler<int>(new GuardedPoolBenchmarks.FloorForwarder(next, _ticked).OnTicked);
            lock (next.Gate)
            {
                item.Ticked += next.Ticked;
            }
#pragma warning restore SR1008
            mine[i] = null;
            theirs[i] = next;
        }
    }

    private void GuardedBody(int self)
    {
        var mine = _leasesOut[_parity][self];
        var theirs = _leasesOut[1 - _parity][1 - self];
        for (var i = 0; i < Batch; i++)
        {
            mine[i]?.Dispose();
            var lease = _guarded.Rent();
            lease.On(static (item, h) => item.Changed += h, static (item, h) => item.Changed -= h, _changed)
                .On(static (item, h) => item.Ticked += h, static (item, h) => item.Ticked -= h, _ticked);
            mine[i] = null;
            theirs[i] = lease;
        }
    }

    // A use handed to the other thread: like a lease that escapes, an object carrying the pooled object and its state.
    private sealed class FloorLease(GuardedPoolBenchmarks.Item item, Lock gate)
    {
        public GuardedPoolBenchmarks.Item Item { get; } = item;

        public Lock Gate { get; } = gate;

        public bool Ended { get; set; }

        public EventHandler? Changed { get; set; }

        public EventHandler<int>? Ticked { get; set; }
    }
}
#pragma warning restore CA1001
