using SafeRefs.Internal;
namespace SafeRefs.Subscriptions.Internal;

/// <summary>
/// The token of <c>Subscribe.Observe</c>: the observable holds this token as its observer and the token forwards to the
/// user's observer, so a disposed token starts no further notification.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal sealed class ObserverSubscription<T> : GatedSubscription, IObserver<T>
{
    private readonly IObserver<T> _observer;
    private IDisposable? _inner;

    private ObserverSubscription(Detacher detacher, IObserver<T> observer)
        : base(detacher, null, null)
    {
        _observer = observer;
    }

    internal static ObserverSubscription<T> Subscribe(IObservable<T> source, IObserver<T> observer)
    {
        var subscription = new ObserverSubscription<T>(GatedDetacher.Instance, observer);
        Volatile.Write(ref subscription._inner, source.Subscribe(subscription));
        return subscription;
    }

    internal override void DetachSource() => Volatile.Read(ref _inner)?.Dispose();

    void IObserver<T>.OnNext(T value)
    {
        if (TryEnter())
        {
            try
            {
                _observer.OnNext(value);
            }
            finally
            {
                Leave();
            }
        }
    }

    void IObserver<T>.OnError(Exception error)
    {
        if (TryEnter())
        {
            try
            {
                _observer.OnError(error);
            }
            finally
            {
                Leave();
            }
        }
    }

    void IObserver<T>.OnCompleted()
    {
        if (TryEnter())
        {
            try
            {
                _observer.OnCompleted();
            }
            finally
            {
                Leave();
            }
        }
    }
}
