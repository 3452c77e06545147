using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// An attach that registers the token's forwarder and then throws leaves no token to the caller: what it registered
/// must never start the user's callback.
/// </summary>
public sealed class SubscribeAttachThrowsTests
{
    [Fact]
    public void Event_AddPublishesThenThrows_HandlerNeverRuns()
    {
        var source = new AddThenThrowSource();
        var calls = 0;
        Assert.Throws<InvalidOperationException>(() => Subscribe.Event<AddThenThrowSource, EventHandler>(
            source, static (s, h) => s.Add(h), static (s, h) => s.Remove(h), (_, _) => calls++));

        source.Raise();

        Assert.Equal(1, source.Count);
        Assert.Equal(0, calls);
    }

    [Fact]
    public void Event_ActionOverload_AddPublishesThenThrows_HandlerNeverRuns()
    {
        Action<int>? published = null;
        var calls = 0;
        Assert.Throws<InvalidOperationException>(() => Subscribe.Event(
            new object(),
            (_, h) =>
            {
                published = h;
                throw new InvalidOperationException("add failed after attaching");
            },
            static (_, _) => { },
            (int _) => calls++));

        Assert.NotNull(published);
        published(1);

        Assert.Equal(0, calls);
    }

    [Fact]
    public void Observe_SubscribeRegistersThenThrows_ObserverNeverCalled()
    {
        var source = new RegisterThenThrowObservable();
        var calls = 0;
        Assert.Throws<InvalidOperationException>(() => Subscribe.Observe(source, new CountingObserver(() => calls++)));

        source.Publish(1);

        Assert.Equal(1, source.Count);
        Assert.Equal(0, calls);
    }

    private sealed class AddThenThrowSource
    {
        private EventHandler? _changed;

        public int Count => _changed?.GetInvocationList().Length ?? 0;

        public void Add(EventHandler handler)
        {
            _changed += handler;
            throw new InvalidOperationException("add failed after attaching");
        }

        public void Remove(EventHandler handler) => _changed -= handler;

        public void Raise() => _changed?.Invoke(this, EventArgs.Empty);
    }

    private sealed class RegisterThenThrowObservable : IObservable<int>
    {
        private readonly List<IObserver<int>> _observers = [];

        public int Count => _observers.Count;

        public IDisposable Subscribe(IObserver<int> observer)
        {
            _observers.Add(observer);
            throw new InvalidOperationException("subscribe failed after registering");
        }

        public void Publish(int value)
        {
            foreach (var observer in _observers)
            {
                observer.OnNext(value);
            }
        }
    }

    private sealed class CountingObserver(Action onNext) : IObserver<int>
    {
        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }

        public void OnNext(int value) => onNext();
    }
}
