using Microsoft.Extensions.Primitives;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions;

public sealed class SubscribeCallbackTests
{
    [Fact]
    public void OnCancel_Cancelled_RunsCallbackWithState()
    {
        using var cts = new CancellationTokenSource();
        object? seen = null;
        var state = new object();
        using var subscription = Subscribe.OnCancel(cts.Token, s => seen = s, state);

        cts.Cancel();

        Assert.Same(state, seen);
    }

    [Fact]
    public void OnCancel_DisposedBeforeCancel_DoesNotRun()
    {
        using var cts = new CancellationTokenSource();
        var calls = 0;
        var subscription = Subscribe.OnCancel(cts.Token, _ => calls++, null);

        Assert.True(subscription.IsActive);
        subscription.Dispose();
        subscription.Dispose();
        cts.Cancel();

        Assert.Equal(0, calls);
        Assert.False(subscription.IsActive);
    }

    [Fact]
    public void OnCancel_AlreadyCancelled_RunsSynchronously()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var calls = 0;
        using var subscription = Subscribe.OnCancel(cts.Token, _ => calls++, null);

        Assert.Equal(1, calls);
    }

    [Fact]
    public void OnCancel_TokenThatCannotBeCancelled_ReturnsEmpty()
    {
        Assert.Same(Subscription.Empty, Subscribe.OnCancel(CancellationToken.None, static _ => { }, null));
    }

    [Fact]
    public void OnCancel_NullCallback_Throws()
    {
        using var cts = new CancellationTokenSource();
        Assert.Throws<ArgumentNullException>(() => Subscribe.OnCancel(cts.Token, null!, null));
    }

    [Fact]
    public void OnCancel_DoesNotFlowExecutionContext()
    {
        var local = new AsyncLocal<string>();
        using var cts = new CancellationTokenSource();
        string? seen = "unset";
        local.Value = "request";
        using var subscription = Subscribe.OnCancel(cts.Token, _ => seen = local.Value, null);
        local.Value = null!;

        // A flowing registration would run in the captured context, where the value is still "request".
        cts.Cancel();

        Assert.Null(seen);
    }

    [Fact]
    public async Task OnCancel_DisposeDuringCallback_DoesNotBlock_DisposeAsyncWaits()
    {
        using var cts = new CancellationTokenSource();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = Subscribe.OnCancel(
            cts.Token,
            _ =>
            {
                entered.SetResult();
                release.Task.WaitBounded();
            },
            null);

        var cancelling = Task.Run(cts.Cancel);
        await entered.Task.Bounded();
        var disposingAsync = subscription.DisposeAsync().AsTask();
        Assert.False(disposingAsync.IsCompleted);

        subscription.Dispose();
        release.SetResult();
        await disposingAsync.Bounded();
        await cancelling.Bounded();
    }

    [Fact]
    public void OnChange_EachChange_RunsConsumerAndReRegisters()
    {
        var producer = new ChangeProducer();
        var calls = 0;
        var subscription = Subscribe.OnChange(producer.GetToken, () => calls++);

        producer.Change();
        producer.Change();
        subscription.Dispose();
        producer.Change();

        Assert.Equal(2, calls);
        Assert.Equal(0, producer.LiveRegistrations);
    }

    [Fact]
    public void OnChange_NullProducerResult_StopsChain()
    {
        var calls = 0;
        using var subscription = Subscribe.OnChange(static () => null, () => calls++);
        Assert.Equal(0, calls);
    }

    [Fact]
    public void OnChange_NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => Subscribe.OnChange(null!, static () => { }));
        Assert.Throws<ArgumentNullException>(() => Subscribe.OnChange(static () => null, null!));
    }

    [Fact]
    public void OnChange_DisposeInsideConsumer_StopsChain()
    {
        var producer = new ChangeProducer();
        var calls = 0;
        Subscription? subscription = null;
        subscription = Subscribe.OnChange(producer.GetToken, () =>
        {
            calls++;
            subscription!.Dispose();
        });

        producer.Change();
        producer.Change();

        Assert.Equal(1, calls);
        Assert.Equal(0, producer.LiveRegistrations);
    }

    [Fact]
    public async Task OnChange_DisposeDuringConsumer_DoesNotBlock_DisposeAsyncWaits()
    {
        var producer = new ChangeProducer();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = Subscribe.OnChange(producer.GetToken, () =>
        {
            entered.TrySetResult();
            release.Task.WaitBounded();
        });

        var changing = Task.Run(producer.Change);
        await entered.Task.Bounded();
        subscription.Dispose();
        var disposingAsync = subscription.DisposeAsync().AsTask();
        var second = Subscribe.OnChange(producer.GetToken, static () => { });
        await second.DisposeAsync().Bounded();

        release.SetResult();
        await changing.Bounded();
        await disposingAsync.Bounded();
        Assert.Equal(0, producer.LiveRegistrations);
    }

    [Fact]
    public void Observe_ForwardsAndUnsubscribes()
    {
        var source = new TestObservable();
        var observer = new TestObserver();
        var subscription = Subscribe.Observe(source, observer);

        source.Publish(1);
        subscription.Dispose();
        source.Publish(2);

        Assert.Equal([1], observer.Values);
        Assert.Equal(0, source.ObserverCount);
    }

    // Documented behaviour change (docs/subscriptions.md): a null from the observable's Subscribe gives a live token.
    [Fact]
    public void Observe_ObservableReturnsNull_LiveTokenThatStopsNotifications()
    {
        var source = new NullReturningObservable();
        var observer = new TestObserver();
        var subscription = Subscribe.Observe(source, observer);
        Assert.True(subscription.IsActive);

        source.Observer!.OnNext(1);
        subscription.Dispose();
        source.Observer!.OnNext(2);

        Assert.False(subscription.IsActive);
        Assert.Equal([1], observer.Values);
    }

    [Fact]
    public void Observe_NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => Subscribe.Observe(null!, new TestObserver()));
        Assert.Throws<ArgumentNullException>(() => Subscribe.Observe(new TestObservable(), null!));
    }

    /// <summary>A producer of <see cref="CancellationChangeToken"/>s that counts live registrations.</summary>
    internal sealed class ChangeProducer
    {
        private CancellationTokenSource _cts = new();

        public int LiveRegistrations { get; private set; }

        public IChangeToken GetToken() => new CountingToken(this, new CancellationChangeToken(_cts.Token));

        public void Change()
        {
            var old = _cts;
            _cts = new CancellationTokenSource();
            old.Cancel();
        }

        private sealed class CountingToken(ChangeProducer owner, IChangeToken inner) : IChangeToken
        {
            public bool HasChanged => inner.HasChanged;

            public bool ActiveChangeCallbacks => inner.ActiveChangeCallbacks;

            public IDisposable RegisterChangeCallback(Action<object?> callback, object? state)
            {
                owner.LiveRegistrations++;
                var fired = 0;
                var registration = inner.RegisterChangeCallback(
                    s =>
                    {
                        if (Interlocked.Exchange(ref fired, 1) == 0)
                        {
                            owner.LiveRegistrations--;
                        }

                        callback(s);
                    },
                    state);
                return new Unregister(() =>
                {
                    if (Interlocked.Exchange(ref fired, 1) == 0)
                    {
                        owner.LiveRegistrations--;
                    }

                    registration.Dispose();
                });
            }
        }

        private sealed class Unregister(Action action) : IDisposable
        {
            public void Dispose() => action();
        }
    }

    internal sealed class TestObservable : IObservable<int>
    {
        private readonly List<IObserver<int>> _observers = [];

        public int ObserverCount => _observers.Count;

        public void Publish(int value) => _observers.ToList().ForEach(o => o.OnNext(value));

        public IDisposable Subscribe(IObserver<int> observer)
        {
            _observers.Add(observer);
            return new Unsubscriber(() => _observers.Remove(observer));
        }

        private sealed class Unsubscriber(Action action) : IDisposable
        {
            public void Dispose() => action();
        }
    }

    internal sealed class NullReturningObservable : IObservable<int>
    {
        public IObserver<int>? Observer { get; private set; }

        public IDisposable Subscribe(IObserver<int> observer)
        {
            Observer = observer;
            return null!;
        }
    }

    internal sealed class TestObserver : IObserver<int>
    {
        public List<int> Values { get; } = [];

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }

        public void OnNext(int value) => Values.Add(value);
    }
}
