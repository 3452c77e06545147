using System.Runtime;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using CommunityToolkit.Mvvm.Messaging;
using SafeRefs.Events;
using SafeRefs.Subscriptions;

namespace SafeRefs.Benchmarks.Events;

/// <summary>Raise to N live subscribers: plain event (baseline) vs SafeRefs weak events vs CT.Mvvm messengers vs a MAUI-style reflection manager.</summary>
[MemoryDiagnoser]
public class RaiseBenchmarks
{
    private readonly List<Subscriber> _subscribers = [];
    private readonly List<Subscription> _tokens = [];
    private WeakEvent<PingMessage> _addMode = null!;
    private WeakDelegateEvent<EventHandler<PingMessage>> _delegateAddMode = null!;
    private WeakDelegateEvent<EventHandler<PingMessage>> _delegateOwnerMode = null!;
    private WeakEvent<PingMessage> _ownerStatic = null!;
    private WeakEvent<PingMessage> _ownerCapturing = null!;
    private WeakReferenceMessenger _weakMessenger = null!;
    private StrongReferenceMessenger _strongMessenger = null!;
    private ReflectionWeakEventManager _reflection = null!;
    private FloorEntry[] _floor = [];
    private long _floorSlot;

    public event EventHandler<PingMessage>? Plain;

    [Params(1, 100)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _addMode = new WeakEvent<PingMessage>();
        _delegateAddMode = new WeakDelegateEvent<EventHandler<PingMessage>>();
        _delegateOwnerMode = new WeakDelegateEvent<EventHandler<PingMessage>>();
        _ownerStatic = new WeakEvent<PingMessage>();
        _ownerCapturing = new WeakEvent<PingMessage>();
        _weakMessenger = new WeakReferenceMessenger();
        _strongMessenger = new StrongReferenceMessenger();
        _reflection = new ReflectionWeakEventManager();
        for (var i = 0; i < N; i++)
        {
            _subscribers.Add(new Subscriber());
        }

        // Each row's registrations are allocated in a loop of their own, so that what one row measures does not depend
        // on what the other rows allocate between its entries (the size of another mechanism's tokens once moved the
        // Add rows by 45 %). Interleaving them with the other rows' objects is not closer to a user's app: there the
        // objects between one event's entries are the app's own, of unknown size; a row laid out by its own setup alone
        // is the neutral choice and the same for every row, the plain event included.
        foreach (var s in _subscribers)
        {
            Plain += s.OnEvent;
        }

        foreach (var s in _subscribers)
        {
            _addMode.Add(s.OnEvent);
        }

        foreach (var s in _subscribers)
        {
            _delegateAddMode.Add(s.OnEvent);
        }

        foreach (var s in _subscribers)
        {
            _tokens.Add(_delegateOwnerMode.Subscribe(s, s.OnEvent));
        }

        foreach (var s in _subscribers)
        {
            _tokens.Add(_ownerStatic.Subscribe(s, static (o, sender, e) => o.OnEvent(sender, e)));
        }

        foreach (var s in _subscribers)
        {
            _tokens.Add(SubscribeCapturing(_ownerCapturing, s));
        }

        foreach (var s in _subscribers)
        {
            _weakMessenger.Register<Subscriber, PingMessage>(s, static (r, m) => r.Receive(m));
        }

        foreach (var s in _subscribers)
        {
            _strongMessenger.Register<Subscriber, PingMessage>(s, static (r, m) => r.Receive(m));
        }

        foreach (var s in _subscribers)
        {
            _reflection.AddEventHandler<PingMessage>(s.OnEvent, "Ping");
        }

        _floor = _subscribers.Select(static s => new FloorEntry(s)).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (ref var entry in _floor.AsSpan())
        {
            entry.Owner.Dispose();
            entry.Dependent.Dispose();
        }
    }

    [Benchmark(Baseline = true)]
    public void PlainEvent() => Plain?.Invoke(this, PingMessage.Instance);

    [Benchmark]
    public void WeakEvent_Add() => _addMode.Raise(this, PingMessage.Instance);

    /// <summary>Bar (issue 16): ≤ 1.2× <see cref="PlainEvent"/> at N = 100, 0 B.</summary>
    [Benchmark]
    public void WeakDelegateEvent_Add() => _delegateAddMode.Raise(this, PingMessage.Instance);

    /// <summary>Bar (issue 16): ≤ 1.5× <see cref="PlainEvent"/> at N = 100, 0 B.</summary>
    [Benchmark]
    public void WeakDelegateEvent_Subscribe() => _delegateOwnerMode.Raise(this, PingMessage.Instance);

    [Benchmark]
    public void WeakEvent_SubscribeStatic() => _ownerStatic.Raise(this, PingMessage.Instance);

    [Benchmark]
    public void WeakEvent_SubscribeCapturing() => _ownerCapturing.Raise(this, PingMessage.Instance);

    [Benchmark]
    public void CTMvvm_WeakReferenceMessenger() => _weakMessenger.Send(PingMessage.Instance);

    [Benchmark]
    public void CTMvvm_StrongReferenceMessenger() => _strongMessenger.Send(PingMessage.Instance);

    [Benchmark]
    public void MauiStyle_Reflection() => _reflection.HandleEvent(this, PingMessage.Instance, "Ping");

    /// <summary>
    /// Floor (not a design): the work no weak design can skip per handler, one weak-handle read of the owner and the
    /// call of a handler that receives it; no snapshot, no removal, no guarantee after <c>Dispose</c>.
    /// </summary>
    [Benchmark]
    public void Floor_WeakRead()
    {
        foreach (ref var entry in _floor.AsSpan())
        {
            if (entry.Owner.TryGetTarget(out var owner))
            {
                entry.Handler(owner, this, PingMessage.Instance);
            }
        }
    }

    /// <summary>
    /// Floor of owner mode: <see cref="Floor_WeakRead"/> plus the one interlocked operation per handler that "no
    /// invocation starts after <c>Dispose</c> returns" needs when the raise takes no lock (a disposer on another
    /// thread must either see the raise committed or the raise must see the disposal: a full fence on each side).
    /// </summary>
    [Benchmark]
    public void Floor_WeakReadAndGate()
    {
        foreach (ref var entry in _floor.AsSpan())
        {
            if (Interlocked.Increment(ref entry.Gate) > 0 && entry.Owner.TryGetTarget(out var owner))
            {
                entry.Handler(owner, this, PingMessage.Instance);
            }
        }
    }

    /// <summary>
    /// The protocol of the owner-mode raise alone: each handler announced with one exchange on the raise's own slot,
    /// its closed flag read, the call announced with a plain store.
    /// </summary>
    [Benchmark]
    public void Floor_WeakReadAndSlot()
    {
        long id = 0;
        foreach (ref var entry in _floor.AsSpan())
        {
            id += 2;
            Interlocked.Exchange(ref _floorSlot, id);
            if (Volatile.Read(ref entry.Gate) == 0 && entry.Owner.TryGetTarget(out var owner))
            {
                Volatile.Write(ref _floorSlot, id | 1);
                entry.Handler(owner, this, PingMessage.Instance);
            }
        }

        Interlocked.Exchange(ref _floorSlot, 0);
    }

    /// <summary>
    /// <see cref="Floor_WeakReadAndGate"/> with the gate left again after the call (an interlocked pair per handler):
    /// what a gate that also frees the handles on the last exit and lets <c>DisposeAsync</c> wait costs.
    /// </summary>
    [Benchmark]
    public void Floor_WeakReadAndGatePair()
    {
        foreach (ref var entry in _floor.AsSpan())
        {
            if (Interlocked.Increment(ref entry.Gate) > 0 && entry.Owner.TryGetTarget(out var owner))
            {
                entry.Handler(owner, this, PingMessage.Instance);
            }

            Interlocked.Decrement(ref entry.Gate);
        }
    }

    /// <summary>
    /// <see cref="Floor_WeakReadAndGate"/> reading the owner and the handler through a <see cref="DependentHandle"/>
    /// (what a handler that captures, and so must live exactly as long as its owner, needs).
    /// </summary>
    [Benchmark]
    public void Floor_DependentReadAndGate()
    {
        foreach (ref var entry in _floor.AsSpan())
        {
            if (Interlocked.Increment(ref entry.Gate) > 0)
            {
                var (owner, handler) = entry.Dependent.TargetAndDependent;
                if (owner is not null)
                {
                    Unsafe.As<Action<Subscriber, object?, PingMessage>>(handler!)(Unsafe.As<Subscriber>(owner), this, PingMessage.Instance);
                }
            }
        }
    }

    private static Subscription SubscribeCapturing(WeakEvent<PingMessage> source, Subscriber subscriber) =>
        source.Subscribe(subscriber, (_, sender, e) => subscriber.OnEvent(sender, e));

    private struct FloorEntry(Subscriber owner)
    {
        public readonly Action<Subscriber, object?, PingMessage> Handler = static (o, sender, e) => o.OnEvent(sender, e);
        public WeakGCHandle<Subscriber> Owner = new(owner);
        public DependentHandle Dependent = new(owner, (Action<Subscriber, object?, PingMessage>)(static (o, sender, e) => o.OnEvent(sender, e)));
        public long Gate;
    }
}
