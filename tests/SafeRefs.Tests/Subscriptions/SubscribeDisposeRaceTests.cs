using System.Runtime.CompilerServices;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// Deterministic races between a raise and <see cref="Subscription.Dispose"/> for the strong tokens: a raiser paused
/// after it read the event's delegate (or observer list) must not start the handler once Dispose has returned, Dispose
/// must not wait for a running handler, and DisposeAsync must (also after an earlier Dispose).
/// </summary>
public sealed class SubscribeDisposeRaceTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Event_RaiserHadReadTheDelegate_DisposeReturned_HandlerDoesNotStart()
    {
        using var source = new PausingSource();
        var calls = 0;
        var subscription = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => calls++));

        var raising = Task.Run(source.RaisePausedAfterRead);
        Assert.True(source.Read.Wait(Timeout));
        subscription.Dispose();
        source.Go.Set();
        await raising.Bounded();

        Assert.Equal(0, calls);
        Assert.Null(source.CurrentChanged);
    }

    [Fact]
    public async Task EventOfT_RaiserHadReadTheDelegate_DisposeReturned_HandlerDoesNotStart()
    {
        using var source = new PausingSource();
        var calls = 0;
        var subscription = Subscribe.Event(source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, (EventHandler<int>)((_, _) => calls++));

        var raising = Task.Run(source.RaiseValuedPausedAfterRead);
        Assert.True(source.Read.Wait(Timeout));
        subscription.Dispose();
        source.Go.Set();
        await raising.Bounded();

        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task WeakEvent_RaiserHadReadTheDelegate_DisposeReturned_HandlerDoesNotStart()
    {
        using var source = new PausingSource();
        var owner = new StrongBox<int>();
        var subscription = Subscribe.WeakEvent<PausingSource, StrongBox<int>, int>(
            source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, owner, static (o, _, _) => o.Value++);

        var raising = Task.Run(source.RaiseValuedPausedAfterRead);
        Assert.True(source.Read.Wait(Timeout));
        subscription.Dispose();
        source.Go.Set();
        await raising.Bounded();

        Assert.Equal(0, owner.Value);
        Assert.Null(source.CurrentValued);
        GC.KeepAlive(owner);
    }

    // Control twin of the two tests above: the paused raise does reach a handler that was not disposed.
    [Fact]
    public async Task EventAndWeakEvent_RaiserHadReadTheDelegate_NotDisposed_HandlersStart()
    {
        using var source = new PausingSource();
        var owner = new StrongBox<int>();
        var calls = 0;
        using var strong = Subscribe.Event(source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, (EventHandler<int>)((_, _) => calls++));
        using var weak = Subscribe.WeakEvent<PausingSource, StrongBox<int>, int>(
            source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, owner, static (o, _, _) => o.Value++);

        var raising = Task.Run(source.RaiseValuedPausedAfterRead);
        Assert.True(source.Read.Wait(Timeout));
        source.Go.Set();
        await raising.Bounded();

        Assert.Equal((1, 1), (calls, owner.Value));
        GC.KeepAlive(owner);
    }

    [Fact]
    public async Task Event_DisposeWhileHandlerRuns_DoesNotWait_DisposeAsyncAfterDisposeWaits()
    {
        var source = new TestSource();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var subscription = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) =>
        {
            entered.Set();
            release.Wait(Timeout);
        }));

        var raising = Task.Run(source.RaiseChanged);
        Assert.True(entered.Wait(Timeout));
        subscription.Dispose(); // returns while the handler is blocked: it does not wait for it
        var disposingAsync = subscription.DisposeAsync().AsTask();
        Assert.False(disposingAsync.IsCompleted);

        release.Set();
        await disposingAsync.WaitAsync(Timeout);
        await raising.Bounded();
        Assert.Equal(0, source.ChangedCount);
    }

    [Fact]
    public void Event_DisposeInsideHandler_DoesNotDeadlock_HandlerNotCalledAgain()
    {
        var source = new TestSource();
        var calls = 0;
        Subscription? subscription = null;
        subscription = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) =>
        {
            calls++;
            subscription!.Dispose();
        }));

        source.RaiseChanged();
        source.RaiseChanged();

        Assert.Equal(1, calls);
        Assert.True(subscription.DisposeAsync().AsTask().IsCompletedSuccessfully);
    }

    [Fact]
    public void Event_RemoveThrows_DisposeThrows_HandlerNotStartedAgain()
    {
        using var source = new PausingSource();
        var calls = 0;
        var subscription = Subscribe.Event(source, static (s, h) => s.Changed += h, static (_, _) => throw new ObjectDisposedException("source"), (EventHandler)((_, _) => calls++));

        Assert.Throws<ObjectDisposedException>(subscription.Dispose);
        source.CurrentChanged!.Invoke(source, EventArgs.Empty);

        Assert.Equal(0, calls);
        Assert.False(subscription.IsActive);
    }

    [Fact]
    public async Task Observe_PublisherHadReadTheObserver_DisposeReturned_OnNextDoesNotStart()
    {
        using var observable = new PausingObservable();
        var observer = new SubscribeCallbackTests.TestObserver();
        var subscription = Subscribe.Observe(observable, observer);

        var publishing = Task.Run(() => observable.PublishPausedAfterRead(7));
        Assert.True(observable.Read.Wait(Timeout));
        subscription.Dispose();
        observable.Go.Set();
        await publishing.Bounded();

        Assert.Empty(observer.Values);
    }

    [Fact]
    public async Task Observe_DisposeWhileOnNextRuns_DoesNotWait_DisposeAsyncWaits()
    {
        var observable = new SubscribeCallbackTests.TestObservable();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var subscription = Subscribe.Observe(observable, new BlockingObserver(entered, release));

        var publishing = Task.Run(() => observable.Publish(1));
        Assert.True(entered.Wait(Timeout));
        subscription.Dispose();
        var disposingAsync = subscription.DisposeAsync().AsTask();
        Assert.False(disposingAsync.IsCompleted);

        release.Set();
        await disposingAsync.WaitAsync(Timeout);
        await publishing.Bounded();
        Assert.Equal(0, observable.ObserverCount);
    }

    [Fact]
    public async Task OnCancel_DisposeAfterDispose_DisposeAsyncStillWaitsForRunningCallback()
    {
        using var cts = new CancellationTokenSource();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var subscription = Subscribe.OnCancel(cts.Token, _ =>
        {
            entered.Set();
            release.Wait(Timeout);
        }, null);

        var cancelling = Task.Run(cts.Cancel);
        Assert.True(entered.Wait(Timeout));
        subscription.Dispose();
        var disposingAsync = subscription.DisposeAsync().AsTask();
        Assert.False(disposingAsync.IsCompleted);

        release.Set();
        await disposingAsync.WaitAsync(Timeout);
        await cancelling.Bounded();
    }

    /// <summary>A source whose raise can stop between reading the event's delegate and calling it.</summary>
    internal sealed class PausingSource : IDisposable
    {
        public event EventHandler? Changed;

        public event EventHandler<int>? Valued;

        public ManualResetEventSlim Read { get; } = new();

        public ManualResetEventSlim Go { get; } = new();

        public EventHandler? CurrentChanged => Changed;

        public EventHandler<int>? CurrentValued => Valued;

        public void RaisePausedAfterRead()
        {
            var handler = Changed;
            Read.Set();
            Go.Wait(Timeout);
            handler?.Invoke(this, EventArgs.Empty);
        }

        public void RaiseValuedPausedAfterRead()
        {
            var handler = Valued;
            Read.Set();
            Go.Wait(Timeout);
            handler?.Invoke(this, 1);
        }

        public void Dispose()
        {
            Read.Dispose();
            Go.Dispose();
        }
    }

    /// <summary>An observable whose publish can stop between reading its observers and notifying them.</summary>
    internal sealed class PausingObservable : IObservable<int>, IDisposable
    {
        private readonly List<IObserver<int>> _observers = [];

        public ManualResetEventSlim Read { get; } = new();

        public ManualResetEventSlim Go { get; } = new();

        public void PublishPausedAfterRead(int value)
        {
            IObserver<int>[] observers;
            lock (_observers)
            {
                observers = [.. _observers];
            }

            Read.Set();
            Go.Wait(Timeout);
            foreach (var observer in observers)
            {
                observer.OnNext(value);
            }
        }

        public IDisposable Subscribe(IObserver<int> observer)
        {
            lock (_observers)
            {
                _observers.Add(observer);
            }

            return new Unsubscriber(this, observer);
        }

        public void Dispose()
        {
            Read.Dispose();
            Go.Dispose();
        }

        private sealed class Unsubscriber(PausingObservable owner, IObserver<int> observer) : IDisposable
        {
            public void Dispose()
            {
                lock (owner._observers)
                {
                    owner._observers.Remove(observer);
                }
            }
        }
    }

    private sealed class BlockingObserver(ManualResetEventSlim entered, ManualResetEventSlim release) : IObserver<int>
    {
        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }

        public void OnNext(int value)
        {
            entered.Set();
            release.Wait(Timeout);
        }
    }
}
