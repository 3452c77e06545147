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
            var s = new Subscriber();
            _subscribers.Add(s);
            Plain += s.OnEvent;
            _addMode.Add(s.OnEvent);
            _delegateAddMode.Add(s.OnEvent);
            _tokens.Add(_delegateOwnerMode.Subscribe(s, s.OnEvent));
            _tokens.Add(_ownerStatic.Subscribe(s, static (o, sender, e) => o.OnEvent(sender, e)));
            _tokens.Add(SubscribeCapturing(_ownerCapturing, s));
            _weakMessenger.Register<Subscriber, PingMessage>(s, static (r, m) => r.Receive(m));
            _strongMessenger.Register<Subscriber, PingMessage>(s, static (r, m) => r.Receive(m));
            _reflection.AddEventHandler<PingMessage>(s.OnEvent, "Ping");
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

    private static Subscription SubscribeCapturing(WeakEvent<PingMessage> source, Subscriber subscriber) =>
        source.Subscribe(subscriber, (_, sender, e) => subscriber.OnEvent(sender, e));
}
