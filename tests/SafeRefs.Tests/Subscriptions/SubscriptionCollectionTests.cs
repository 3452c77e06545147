using System.Runtime.CompilerServices;
using SafeRefs.Subscriptions;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;
using ChangeProducer = SafeRefs.Tests.Subscriptions.SubscribeCallbackTests.ChangeProducer;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>Registrations on long-lived sources: disposed, the captures are collectable; not disposed, they are rooted.</summary>
[Collection(GcCollection.Name)]
public sealed class SubscriptionCollectionTests
{
    [Fact]
    public void OnCancel_Disposed_CaptureCollectedWhileSourceLives()
    {
        using var cts = new CancellationTokenSource();
        var capture = RegisterOnCancel(dispose: true, cts.Token);

        GcAssert.Collected(capture, "the disposed registration no longer roots its state");
        GC.KeepAlive(cts);
    }

    [Fact]
    public void OnCancel_NotDisposed_CaptureRootedBySource()
    {
        using var cts = new CancellationTokenSource();
        var capture = RegisterOnCancel(dispose: false, cts.Token);

        GcAssert.NotCollected(capture, "a live registration on a live token source roots its state");
        GC.KeepAlive(cts);
    }

    [Fact]
    public void OnChange_Disposed_ConsumerCaptureCollectedWhileProducerLives()
    {
        var producer = new ChangeProducer();
        var capture = RegisterOnChange(producer, dispose: true);

        GcAssert.Collected(capture, "the disposed chain no longer roots the consumer");
        producer.Change();
        GC.KeepAlive(producer);
    }

    [Fact]
    public void OnChange_NotDisposed_ConsumerCaptureRootedByProducer()
    {
        var producer = new ChangeProducer();
        var capture = RegisterOnChange(producer, dispose: false);

        GcAssert.NotCollected(capture, "a live chain on a live producer roots the consumer");
        GC.KeepAlive(producer);
    }

    [Fact]
    public void Bag_DisposedBeforeLifetime_LeavesNothingOnLifetimeToken()
    {
        using var cts = new CancellationTokenSource();
        var bag = BagOnLifetime(dispose: true, cts.Token);

        GcAssert.Collected(bag, "a disposed bag unregisters from its lifetime token");
        GC.KeepAlive(cts);
    }

    [Fact]
    public void Bag_NotDisposed_RootedByLifetimeToken()
    {
        using var cts = new CancellationTokenSource();
        var bag = BagOnLifetime(dispose: false, cts.Token);

        GcAssert.NotCollected(bag, "an undisposed bag stays registered on its lifetime token");
        GC.KeepAlive(cts);
    }

    [Fact]
    public void Bag_LifetimeCancelled_ItemsDisposedAndCollectable()
    {
        using var cts = new CancellationTokenSource();
        var source = new TestSource();
        var capture = BagWithSubscription(source, cts.Token);
        Assert.Equal(1, source.ChangedCount);

        cts.Cancel();

        Assert.Equal(0, source.ChangedCount);
        GcAssert.Collected(capture, "the bag's subscription was disposed when its lifetime ended");
        GC.KeepAlive(source);
    }

    [Fact]
    public void Bag_LifetimeNotCancelled_SubscriptionCaptureRootedBySource()
    {
        using var cts = new CancellationTokenSource();
        var source = new TestSource();
        var capture = BagWithSubscription(source, cts.Token);

        GcAssert.NotCollected(capture, "the subscription is still attached to the source");
        Assert.Equal(1, source.ChangedCount);
        GC.KeepAlive(source);
        GC.KeepAlive(cts);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference RegisterOnCancel(bool dispose, CancellationToken token)
    {
        var state = new byte[64];
        var subscription = Subscribe.OnCancel(token, static s => GC.KeepAlive(s), state);
        if (dispose)
        {
            subscription.Dispose();
        }

        return new WeakReference(state);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference RegisterOnChange(ChangeProducer producer, bool dispose)
    {
        var capture = new List<int>();
        var subscription = Subscribe.OnChange(producer.GetToken, () => capture.Add(1));
        producer.Change();
        if (dispose)
        {
            subscription.Dispose();
        }

        return new WeakReference(capture);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference BagOnLifetime(bool dispose, CancellationToken lifetime)
    {
        var bag = new SubscriptionBag(lifetime);
        bag.Add(new CancellationTokenSource());
        if (dispose)
        {
            bag.Dispose();
        }

        return new WeakReference(bag);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference BagWithSubscription(TestSource source, CancellationToken lifetime)
    {
        var capture = new List<int>();
        var bag = new SubscriptionBag(lifetime);
        Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => capture.Add(1))).DisposeWith(bag);
        return new WeakReference(capture);
    }
}
