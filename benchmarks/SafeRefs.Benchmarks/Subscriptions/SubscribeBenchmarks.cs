using System.Runtime.CompilerServices;
using System.Runtime;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using SafeRefs.Subscriptions;

namespace SafeRefs.Benchmarks.Subscriptions;

/// <summary>
/// Attach + detach one handler on a plain .NET event: raw <c>+=</c>/<c>-=</c> (baseline) against
/// <see cref="Subscribe.Event{TSource, THandler}"/> with and without a <see cref="ListenerBudget"/>, and
/// <see cref="Subscribe.WeakEvent{TSource, TOwner, TArgs}"/>. <see cref="ExistingHandlers"/> handlers stay attached
/// (10: the raw rows show what the source's own <c>+=</c>/<c>-=</c> on a 10-delegate multicast costs). The floor rows
/// are reference code, not SafeRefs APIs: the least work a design with the same guarantees does.
/// </summary>
[MemoryDiagnoser]
public class SubscribeBenchmarks
{
    private readonly EventHandler _handler = static (_, _) => { };
    private readonly EventHandler<EventArgs> _genericHandler = static (_, _) => { };
    private readonly ListenerBudget _budget = new(maxListeners: 0);
    private readonly Owner _owner = new();
    private readonly Owner[] _owners = [new(), new(), new(), new(), new(), new(), new(), new()];
    private int _nextOwner;
    private int _weakFloorState;
    private WeakGCHandle<object> _weakFloorOwner;
    private Source _source = null!;

    private static readonly Lock FloorRegistryLock = new();
    private static readonly WeakLinkFloorToken?[] FloorRegistry = new WeakLinkFloorToken?[16];
    private static int _floorRegistryCount;
    private static long _floorActive;

    [Params(0, 1, 10)]
    public int ExistingHandlers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _weakFloorOwner = new WeakGCHandle<object>(_owner);
        _source = new Source();
        for (var i = 0; i < ExistingHandlers; i++)
        {
            _source.Changed += static (_, _) => { };
            _source.GenericChanged += static (_, _) => { };
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _weakFloorOwner.Dispose();

    [Benchmark(Baseline = true)]
    public void RawAddRemove()
    {
        _source.Changed += _handler;
        _source.Changed -= _handler;
    }

    [Benchmark]
    public void SubscribeEventDispose()
    {
        Subscribe.Event(_source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, _handler).Dispose();
    }

    [Benchmark]
    public void SubscribeEventWithBudgetDispose()
    {
        Subscribe.Event(_source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, _handler, _budget).Dispose();
    }

    /// <summary>
    /// Reference floor, not a SafeRefs API: raw <c>+=</c>/<c>-=</c> plus the least any exactly-once token adds — one
    /// 48-byte object and one interlocked exchange to claim the detach.
    /// </summary>
    [Benchmark]
    public void RawAddRemovePlusTokenFloor()
    {
        _source.Changed += _handler;
        var token = new FloorToken(_source, _budget, _handler);
        if (Interlocked.Exchange(ref token.Handler, null) is { } handler)
        {
            _source.Changed -= handler;
        }
    }

    /// <summary>
    /// Reference floor, not a SafeRefs API: raw <c>+=</c>/<c>-=</c> of a forwarder plus the least a weak subscription
    /// with an exactly-once token adds — the 48-byte token, a 64-byte forwarder delegate whose target is the token (the
    /// source must not reference the owner), a read of a pre-allocated weak handle to the owner, one interlocked
    /// exchange to claim the detach and one compare-and-swap to release the reusable weak-handle slot (a raise may
    /// still be reading it). It leaves out what makes collected owners detach without the event firing (registering
    /// the forwarder where a purge finds it) and per-subscription handler storage.
    /// </summary>
    [Benchmark]
    public void RawAddRemovePlusWeakFloor()
    {
        var token = new WeakFloorToken(_source, _weakFloorOwner);
        var forwarder = token.Forwarder = token.Forward;
        _source.GenericChanged += forwarder;
        if (Interlocked.Exchange(ref token.Remove, null) is not null)
        {
            token.Source.GenericChanged -= token.Forwarder;
            Interlocked.CompareExchange(ref _weakFloorState, 0, 0);
        }
    }

    /// <summary>
    /// Reference floor, not a SafeRefs API: raw <c>+=</c>/<c>-=</c> of a freshly allocated forwarder delegate whose
    /// target is a two-field state object and which checks one flag before calling the handler. Any token that keeps
    /// "no start after <c>Dispose</c>" must give the source a delegate of its own (the source may still call a copy it
    /// read before <c>-=</c>), so these two objects are the least such a subscription allocates.
    /// </summary>
    [Benchmark]
    public void ForwarderFloor()
    {
        var state = new FloorForwarder(_handler);
        EventHandler forwarder = state.Forward;
        _source.Changed += forwarder;
        state.Closed = -1;
        _source.Changed -= forwarder;
    }

    /// <summary>
    /// Reference floor: <see cref="ForwarderFloor"/> plus the one interlocked operation that closes the gate (so that
    /// a raise between its check and its call is waited for) and the read that waits for such raisers.
    /// </summary>
    [Benchmark]
    public void ForwarderGateFloor()
    {
        var state = new FloorForwarder(_handler);
        EventHandler forwarder = state.Forward;
        _source.Changed += forwarder;
        if (Interlocked.Or(ref state.Closed, int.MinValue) >= 0)
        {
            while ((Volatile.Read(ref state.Closed) & int.MaxValue) != 0)
            {
                Thread.SpinWait(1);
            }

            _source.Changed -= forwarder;
        }
    }

    /// <summary>
    /// Reference floor: <see cref="ForwarderGateFloor"/> plus the documented live count
    /// (<c>saferefs.subscription.active</c>, kept whether or not anyone listens): one interlocked increment and one
    /// decrement.
    /// </summary>
    [Benchmark]
    public void ForwarderGateCountFloor()
    {
        var state = new FloorForwarder(_handler);
        EventHandler forwarder = state.Forward;
        _source.Changed += forwarder;
        Interlocked.Increment(ref _floorActive);
        if (Interlocked.Or(ref state.Closed, int.MinValue) >= 0)
        {
            while ((Volatile.Read(ref state.Closed) & int.MaxValue) != 0)
            {
                Thread.SpinWait(1);
            }

            _source.Changed -= forwarder;
            Interlocked.Decrement(ref _floorActive);
        }
    }

    /// <summary>
    /// Reference floor: <see cref="ForwarderGateCountFloor"/> in the shape of an API that takes the accessors as
    /// delegates and returns a token, as <see cref="Subscribe.Event{TSource, THandler}"/> does: a non-inlined subscribe
    /// call that checks its arguments, a token that keeps what its <c>Dispose</c> needs (handler, forwarder, source,
    /// remove accessor, budget count, gate and a slot for a <c>DisposeAsync</c> waiter: 72 bytes), the accessors called
    /// through their delegates, and a virtual <c>Dispose</c> that closes the gate, removes and clears the token.
    /// </summary>
    [Benchmark]
    public void TokenApiFloor() =>
        FloorApiToken.Subscribe(_source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, _handler).Dispose();

    [Benchmark]
    public void RawGenericAddRemove()
    {
        _source.GenericChanged += _genericHandler;
        _source.GenericChanged -= _genericHandler;
    }

    [Benchmark]
    public void WeakEventDispose()
    {
        Subscribe.WeakEvent<Source, Owner, EventArgs>(
            _source, static (s, h) => s.GenericChanged += h, static (s, h) => s.GenericChanged -= h, _owner, static (_, _, _) => { }).Dispose();
    }

    /// <summary>
    /// Reference floor, not a SafeRefs API: only the work the issue prescribes for one weak link — a token that is the
    /// forwarder's target, the forwarder, a new <see cref="DependentHandle"/> owner → handler and a new weak handle to
    /// the source, one compare-and-swap to claim the detach, one <see cref="Lock"/>ed add to a registry (so a purge
    /// finds links whose owner died) and one locked swap-remove, and both frees. No metrics, no budget, no
    /// thread-affinity check, no closure check.
    /// </summary>
    [Benchmark]
    public void WeakLinkFloor()
    {
        var token = new WeakLinkFloorToken(_owner, _genericHandler, _source);
        EventHandler<EventArgs> forwarder = token.Forward;
        _source.GenericChanged += forwarder;
        lock (FloorRegistryLock)
        {
            token.Index = _floorRegistryCount;
            FloorRegistry[_floorRegistryCount++] = token;
        }

        if (Interlocked.CompareExchange(ref token.Claimed, 1, 0) == 0)
        {
            if (token.TryGetSource(out var source))
            {
                ((Source)source!).GenericChanged -= forwarder;
            }

            lock (FloorRegistryLock)
            {
                var last = FloorRegistry[--_floorRegistryCount]!;
                FloorRegistry[token.Index] = last;
                last.Index = token.Index;
                FloorRegistry[_floorRegistryCount] = null;
            }

            token.Free();
        }
    }

    /// <summary>As <see cref="WeakEventDispose"/>, but each call subscribes another of 8 owners.</summary>
    [Benchmark]
    public void WeakEventDispose_RotatingOwners()
    {
        Subscribe.WeakEvent<Source, Owner, EventArgs>(
            _source, static (s, h) => s.GenericChanged += h, static (s, h) => s.GenericChanged -= h, _owners[_nextOwner++ & 7], static (_, _, _) => { }).Dispose();
    }

    public sealed class Source
    {
        public event EventHandler? Changed;

        public event EventHandler<EventArgs>? GenericChanged;

        public void Raise()
        {
            Changed?.Invoke(this, EventArgs.Empty);
            GenericChanged?.Invoke(this, EventArgs.Empty);
        }
    }

    public sealed class Owner
    {
    }

    /// <summary>Four references, like a subscription token (48 bytes); its <see cref="Forward"/> reads the owner through a weak handle.</summary>
    internal sealed class WeakFloorToken(Source source, WeakGCHandle<object> owner)
    {
#pragma warning disable IDE1006 // benchmark-only token, used by ref
        public object? Remove = typeof(WeakFloorToken);
        public EventHandler<EventArgs>? Forwarder;
#pragma warning restore IDE1006

        public Source Source { get; } = source;

        public WeakGCHandle<object> Owner { get; } = owner;

        public void Forward(object? sender, EventArgs args)
        {
            if (Owner.TryGetTarget(out var owner))
            {
                GC.KeepAlive(owner);
            }
        }
    }

    /// <summary>The handles and claim of <see cref="WeakLinkFloor"/>: a dependent handle owner → handler, a weak handle to the source.</summary>
    internal sealed class WeakLinkFloorToken(object owner, Delegate handler, object source)
    {
#pragma warning disable IDE1006 // benchmark-only token, used by ref
        public int Claimed;
        public int Index;
#pragma warning restore IDE1006
        private DependentHandle _ownerToHandler = new(owner, handler);
        private WeakGCHandle<object> _source = new(source);

        public bool TryGetSource(out object? source) => _source.TryGetTarget(out source);

        public void Forward(object? sender, EventArgs args)
        {
            var (target, dependent) = _ownerToHandler.TargetAndDependent;
            if (target is not null)
            {
                ((EventHandler<EventArgs>)dependent!)(sender, args);
            }
        }

        public void Free()
        {
            _ownerToHandler.Dispose();
            _source.Dispose();
        }
    }

    /// <summary>The token of <see cref="TokenApiFloor"/>; its <see cref="Dispose"/> is virtual, as a token's is.</summary>
    internal abstract class FloorApiTokenBase
    {
#pragma warning disable IDE1006, CS0649 // benchmark-only token, used by ref; the waiter slot is only for its size
        public long Closed;
        public object? Waiter;
#pragma warning restore IDE1006, CS0649

        [MethodImpl(MethodImplOptions.NoInlining)]
        public void Dispose() => Detach();

        protected abstract void Detach();
    }

    /// <summary>What <see cref="TokenApiFloor"/>'s token keeps so that its <c>Dispose</c> can detach (72 bytes).</summary>
    internal sealed class FloorApiToken : FloorApiTokenBase
    {
        private EventHandler? _handler;
        private EventHandler? _forwarder;
        private Source? _source;
        private Action<Source, EventHandler>? _remove;
        private object? _counter;

        private FloorApiToken(Source source, Action<Source, EventHandler> remove, EventHandler handler, object? counter)
        {
            _handler = handler;
            _source = source;
            _remove = remove;
            _counter = counter;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static FloorApiToken Subscribe(Source source, Action<Source, EventHandler> add, Action<Source, EventHandler> remove, EventHandler handler)
        {
            ArgumentNullException.ThrowIfNull(source);
            ArgumentNullException.ThrowIfNull(add);
            ArgumentNullException.ThrowIfNull(remove);
            ArgumentNullException.ThrowIfNull(handler);
            var token = new FloorApiToken(source, remove, handler, counter: null);
            var forwarder = token._forwarder = token.Forward;
            add(source, forwarder);
            Interlocked.Increment(ref _floorActive);
            return token;
        }

        protected override void Detach()
        {
            if (Interlocked.Or(ref Closed, long.MinValue) >= 0)
            {
                Interlocked.Decrement(ref _floorActive);
                try
                {
                    _remove!(_source!, _forwarder!);
                    GC.KeepAlive(_counter);
                }
                finally
                {
                    _handler = null;
                    _forwarder = null;
                    _source = null;
                    _remove = null;
                    _counter = null;
                }
            }
        }

        private void Forward(object? sender, EventArgs args)
        {
            if (Volatile.Read(ref Closed) >= 0 && Volatile.Read(ref _handler) is { } handler)
            {
                handler(sender, args);
            }
        }
    }

    /// <summary>The least state a gated forwarder needs: the handler and one flag (32 bytes).</summary>
    internal sealed class FloorForwarder(EventHandler handler)
    {
#pragma warning disable IDE1006 // benchmark-only state, used by ref
        public int Closed;
#pragma warning restore IDE1006

        public void Forward(object? sender, EventArgs args)
        {
            if (Volatile.Read(ref Closed) >= 0)
            {
                handler(sender, args);
            }
        }
    }

    /// <summary>Four references, like a subscription token (48 bytes).</summary>
    internal sealed class FloorToken(Source source, object remove, EventHandler handler)
    {
#pragma warning disable IDE1006 // benchmark-only token, used by ref
        public EventHandler? Handler = handler;
        public object Kind = typeof(FloorToken);
#pragma warning restore IDE1006

        public Source Source { get; } = source;

        public object Remove { get; } = remove;
    }
}
