using System.Runtime.CompilerServices;
using Microsoft.Extensions.Primitives;
using SafeRefs.Subscriptions;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// <see cref="Subscription"/>'s contract: a token holds what it needs to detach "until it is disposed, then nothing".
/// Each case keeps the token alive, disposes it, and expects the source side (source, remove accessor, observable,
/// cancellation source, producer) and the callback side to be collectable; its control twin skips the dispose and
/// expects them alive through the token. The objects are built in a non-inlined helper; only the token and weak
/// references leave it.
/// </summary>
[Collection(GcCollection.Name)]
public sealed class SubscriptionRetentionTests
{
    public static TheoryData<bool> Budgeted => new() { false, true };

    [Theory]
    [MemberData(nameof(Budgeted))]
    public void Event_Disposed_TokenHoldsNeitherSourceNorRemoveAccessor(bool budgeted)
    {
        var (token, source, remove) = AttachEvent(budgeted, dispose: true);

        GcAssert.Collected(source, "a disposed token holds no source");
        GcAssert.Collected(remove, "a disposed token holds no remove accessor");
        GC.KeepAlive(token);
    }

    [Theory]
    [MemberData(nameof(Budgeted))]
    public void Event_NotDisposed_TokenHoldsSourceAndRemoveAccessor(bool budgeted)
    {
        var (token, source, remove) = AttachEvent(budgeted, dispose: false);

        GcAssert.NotCollected(source, "a live token holds its source");
        GcAssert.NotCollected(remove, "a live token holds its remove accessor");
        GC.KeepAlive(token);
    }

    [Fact]
    public void Event_RemoveThrows_DisposedTokenStillReleasesTheSource()
    {
        var (token, source, thrown) = AttachEventWhoseRemoveThrows();

        Assert.True(thrown, "the remove accessor's exception reaches the Dispose caller");
        GcAssert.Collected(source, "the source holds the forwarder, but the disposed token no longer holds the source");
        GC.KeepAlive(token);
    }

    [Fact]
    public void OnCancel_Disposed_TokenHoldsNeitherStateNorTokenSource()
    {
        var (token, state, cts) = RegisterCancel(dispose: true);

        GcAssert.Collected(state, "a disposed token holds no callback state");
        GcAssert.Collected(cts, "a disposed token's registration no longer reaches the token source");
        GC.KeepAlive(token);
    }

    [Fact]
    public void OnCancel_NotDisposed_TokenHoldsStateAndTokenSource()
    {
        var (token, state, cts) = RegisterCancel(dispose: false);

        GcAssert.NotCollected(state, "a live token holds its callback state");
        GcAssert.NotCollected(cts, "a live token's registration reaches the token source");
        GC.KeepAlive(token);
    }

    [Fact]
    public void Observe_Disposed_TokenHoldsNeitherObserverNorObservable()
    {
        var (token, observer, observable) = ObserveSubject(dispose: true);

        GcAssert.Collected(observer, "a disposed token holds no observer");
        GcAssert.Collected(observable, "a disposed token holds no inner subscription (which reaches the observable)");
        GC.KeepAlive(token);
    }

    [Fact]
    public void Observe_NotDisposed_TokenHoldsObserverAndObservable()
    {
        var (token, observer, observable) = ObserveSubject(dispose: false);

        GcAssert.NotCollected(observer, "a live token holds its observer");
        GcAssert.NotCollected(observable, "a live token holds its inner subscription");
        GC.KeepAlive(token);
    }

    [Fact]
    public void OnChange_Disposed_TokenHoldsNeitherProducerNorConsumer()
    {
        var (token, producerTarget, consumerTarget) = ChainChanges(dispose: true);

        GcAssert.Collected(producerTarget, "a disposed token holds no producer");
        GcAssert.Collected(consumerTarget, "a disposed token holds no consumer");
        GC.KeepAlive(token);
    }

    [Fact]
    public void OnChange_NotDisposed_TokenHoldsProducerAndConsumer()
    {
        var (token, producerTarget, consumerTarget) = ChainChanges(dispose: false);

        GcAssert.NotCollected(producerTarget, "a live token holds its producer");
        GcAssert.NotCollected(consumerTarget, "a live token holds its consumer");
        GC.KeepAlive(token);
    }

    // The source and the owner stay alive: a purge would otherwise detach the link (and free its handles) on its own.
    [Fact]
    public void WeakEvent_Disposed_TokenReleasesTheHandlerWhileOwnerAndSourceLive()
    {
        var owner = new object();
        var source = new TestSource();
        var (token, captured) = AttachWeak(source, owner, dispose: true);

        GcAssert.Collected(captured, "a disposed weak link freed its owner → handler handle");
        GC.KeepAlive(token);
        GC.KeepAlive(owner);
        GC.KeepAlive(source);
    }

    [Fact]
    public void WeakEvent_NotDisposed_HandlerLivesAsLongAsTheOwner()
    {
        var owner = new object();
        var source = new TestSource();
        var (token, captured) = AttachWeak(source, owner, dispose: false);

        GcAssert.NotCollected(captured, "a live weak link keeps the handler as long as the owner");
        GC.KeepAlive(token);
        GC.KeepAlive(owner);
        GC.KeepAlive(source);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Subscription Token, WeakReference Source, WeakReference Remove) AttachEvent(bool budgeted, bool dispose)
    {
        var source = new TestSource();
        var marker = new object();

        // A capturing remove accessor: its closure is what the token would keep.
        Action<TestSource, EventHandler> remove = (s, h) =>
        {
            GC.KeepAlive(marker);
            s.RemoveChanged(h);
        };
        var budget = budgeted ? new ListenerBudget(100) : null;
        var token = Subscribe.Event<TestSource, EventHandler>(source, static (s, h) => s.AddChanged(h), remove, static (_, _) => { }, budget);
        if (dispose)
        {
            token.Dispose();
            Assert.Equal(0, source.ChangedCount);
        }

        return (token, new WeakReference(source), new WeakReference(remove));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Subscription Token, WeakReference Source, bool Thrown) AttachEventWhoseRemoveThrows()
    {
        var source = new TestSource();
        var token = Subscribe.Event<TestSource, EventHandler>(source, static (s, h) => s.AddChanged(h), static (_, _) => throw new ObjectDisposedException("source"), static (_, _) => { });
        var thrown = false;
        try
        {
            token.Dispose();
        }
        catch (ObjectDisposedException)
        {
            thrown = true;
        }

        Assert.Equal(1, source.ChangedCount);
        return (token, new WeakReference(source), thrown);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Subscription Token, WeakReference State, WeakReference Source) RegisterCancel(bool dispose)
    {
        var cts = new CancellationTokenSource();
        var state = new object();
        var token = Subscribe.OnCancel(cts.Token, static _ => { }, state);
        if (dispose)
        {
            token.Dispose();
        }

        return (token, new WeakReference(state), new WeakReference(cts));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Subscription Token, WeakReference Observer, WeakReference Observable) ObserveSubject(bool dispose)
    {
        var subject = new Subject();
        var observer = new Observer();
        var token = Subscribe.Observe(subject, observer);
        subject.OnNext(1);
        Assert.Equal(1, observer.Count);
        if (dispose)
        {
            token.Dispose();
        }

        return (token, new WeakReference(observer), new WeakReference(subject));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Subscription Token, WeakReference Producer, WeakReference Consumer) ChainChanges(bool dispose)
    {
        var producerState = new ProducerState();
        var consumerState = new StrongBox<int>();
        var token = Subscribe.OnChange(producerState.Next, () => consumerState.Value++);
        producerState.Current.Cancel();
        Assert.Equal(1, consumerState.Value);
        if (dispose)
        {
            token.Dispose();
        }

        return (token, new WeakReference(producerState), new WeakReference(consumerState));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Subscription Token, WeakReference Captured) AttachWeak(TestSource source, object owner, bool dispose)
    {
        var captured = new object();
        var token = Subscribe.WeakEvent<TestSource, object, int>(
            source,
            static (s, h) => s.AddValued(h),
            static (s, h) => s.RemoveValued(h),
            owner,
            (_, _, _) => GC.KeepAlive(captured));
        if (dispose)
        {
            token.Dispose();
            Assert.Equal(0, source.ValuedCount);
        }

        return (token, new WeakReference(captured));
    }

    private sealed class Observer : IObserver<int>
    {
        public int Count { get; private set; }

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }

        public void OnNext(int value) => Count++;
    }

    /// <summary>One observer at a time; its subscription reaches the subject, as Rx's do.</summary>
    private sealed class Subject : IObservable<int>
    {
        private IObserver<int>? _observer;

        public void OnNext(int value) => _observer?.OnNext(value);

        public IDisposable Subscribe(IObserver<int> observer)
        {
            _observer = observer;
            return new Unsubscriber(this);
        }

        private sealed class Unsubscriber(Subject subject) : IDisposable
        {
            public void Dispose() => subject._observer = null;
        }
    }

    /// <summary>Hands out a fresh cancellable change token each time the chain asks.</summary>
    private sealed class ProducerState
    {
        public CancellationTokenSource Current { get; private set; } = new();

        public CancellationChangeToken Next()
        {
            Current = new CancellationTokenSource();
            return new CancellationChangeToken(Current.Token);
        }
    }
}
