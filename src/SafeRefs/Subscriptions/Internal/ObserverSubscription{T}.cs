namespace SafeRefs.Subscriptions.Internal;

/// <summary>
/// The token of <c>Subscribe.Observe</c>: the observable holds this token as its observer and the token forwards to the
/// user's observer, so a disposed token starts no further notification.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal sealed class ObserverSubscription<T> : GatedSubscription, IObserver<T>
{
    private IObserver<T>? _observer;
    private IDisposable? _inner;

    private ObserverSubscription(IObserver<T> observer)
    {
        _observer = observer;
    }

    internal static ObserverSubscription<T> Subscribe(IObservable<T> source, IObserver<T> observer)
    {
        var subscription = new ObserverSubscription<T>(observer);
        try
        {
            Volatile.Write(ref subscription._inner, source.Subscribe(subscription));
        }
        catch
        {
            // The observable may have registered the token before throwing; the caller gets no token to dispose.
            subscription.Abandon();
            throw;
        }

        return subscription;
    }

    /// <summary>Disposes the observable's subscription and drops it (it may reach the observable).</summary>
    private protected override void DetachSource() => Interlocked.Exchange(ref _inner, null)?.Dispose();

    /// <summary>A disposed token keeps no observer.</summary>
    private protected override void ReleaseCallback() => Volatile.Write(ref _observer, null);

    /// <summary>Admits one notification unless disposed; read before entering (see <c>EventSubscription.Enter</c>).</summary>
    private IObserver<T>? Enter() => Volatile.Read(ref _observer) is { } observer && TryEnter() ? observer : null;

    void IObserver<T>.OnNext(T value)
    {
        if (Enter() is { } observer)
        {
            try
            {
                observer.OnNext(value);
            }
            finally
            {
                Leave();
            }
        }
    }

    void IObserver<T>.OnError(Exception error)
    {
        if (Enter() is { } observer)
        {
            try
            {
                observer.OnError(error);
            }
            finally
            {
                Leave();
            }
        }
    }

    void IObserver<T>.OnCompleted()
    {
        if (Enter() is { } observer)
        {
            try
            {
                observer.OnCompleted();
            }
            finally
            {
                Leave();
            }
        }
    }
}
