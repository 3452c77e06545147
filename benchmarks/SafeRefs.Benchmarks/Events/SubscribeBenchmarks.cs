using BenchmarkDotNet.Attributes;
using CommunityToolkit.Mvvm.Messaging;
using SafeRefs.Events;
using SafeRefs.Subscriptions;

namespace SafeRefs.Benchmarks.Events;

/// <summary>
/// One subscribe + unsubscribe on an existing source with 10 other subscribers, side by side: raw <c>+=</c>/<c>-=</c>
/// (baseline), <c>Subscribe.WeakEvent</c> + <c>Dispose</c>, <c>WeakEvent&lt;T&gt;.Subscribe(owner, …)</c> +
/// <c>Dispose</c>, and CommunityToolkit.Mvvm's <c>WeakReferenceMessenger</c> <c>Register</c> + <c>Unregister</c>.
/// Bars (issue 16): each SafeRefs weak row ≤ 150 ns and ≤ 0.5× the messenger row of the same run.
/// </summary>
[MemoryDiagnoser]
public class SubscribeBenchmarks
{
    private readonly List<Subscriber> _others = [];
    private readonly Subscriber _subscriber = new();
    private WeakEvent<PingMessage> _weakEvent = null!;
    private WeakReferenceMessenger _messenger = null!;
    private ReflectionWeakEventManager _reflection = null!;

    public event EventHandler<PingMessage>? Plain;

    /// <summary>Not measured; keeps <see cref="Plain"/> a real, raised event.</summary>
    public void RaisePlain() => Plain?.Invoke(this, PingMessage.Instance);

    [GlobalSetup]
    public void Setup()
    {
        _weakEvent = new WeakEvent<PingMessage>();
        _messenger = new WeakReferenceMessenger();
        _reflection = new ReflectionWeakEventManager();
        for (var i = 0; i < 10; i++)
        {
            var s = new Subscriber();
            _others.Add(s);
            Plain += s.OnEvent;
            _weakEvent.Add(s.OnEvent);
            _messenger.Register<Subscriber, PingMessage>(s, static (r, m) => r.Receive(m));
            _reflection.AddEventHandler<PingMessage>(s.OnEvent, "Ping");
        }
    }

    [Benchmark(Baseline = true)]
    public void PlainEvent_AddRemove()
    {
        Plain += _subscriber.OnEvent;
        Plain -= _subscriber.OnEvent;
    }

    [Benchmark]
    public void SubscribeWeakEvent_Dispose() =>
        Subscribe.WeakEvent<SubscribeBenchmarks, Subscriber, PingMessage>(
            this, static (s, h) => s.Plain += h, static (s, h) => s.Plain -= h, _subscriber, static (o, sender, e) => o.OnEvent(sender, e)).Dispose();

    [Benchmark]
    public void WeakEvent_SubscribeDispose() =>
        _weakEvent.Subscribe(_subscriber, static (o, sender, e) => o.OnEvent(sender, e)).Dispose();

    [Benchmark]
    public void WeakEvent_AddRemove()
    {
        _weakEvent.Add(_subscriber.OnEvent);
        _weakEvent.Remove(_subscriber.OnEvent);
    }

    [Benchmark]
    public void CTMvvm_RegisterUnregister()
    {
        _messenger.Register<Subscriber, PingMessage>(_subscriber, static (r, m) => r.Receive(m));
        _messenger.Unregister<PingMessage>(_subscriber);
    }

    [Benchmark]
    public void MauiStyle_AddRemove()
    {
        _reflection.AddEventHandler<PingMessage>(_subscriber.OnEvent, "Ping");
        _reflection.RemoveEventHandler<PingMessage>(_subscriber.OnEvent, "Ping");
    }
}
