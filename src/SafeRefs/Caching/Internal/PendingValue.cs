namespace SafeRefs.Caching.Internal;

/// <summary>
/// One in-flight factory call of a cache's <c>GetOrAdd</c>: the callers that wait for it, its result, and (for the
/// async form) a cancellation source that fires only when every waiter has given up.
/// </summary>
/// <typeparam name="TValue">The value type.</typeparam>
internal sealed class PendingValue<TValue> : IDisposable
{
    private readonly TaskCompletionSource<TValue> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource? _cancellation;
    private int _waiters = 1; // the creator; -1 once closed (every waiter left)

    public PendingValue(bool cancellable)
    {
        if (cancellable)
        {
            _cancellation = new CancellationTokenSource();
            FactoryToken = _cancellation.Token;
        }
    }

    public Task<TValue> Task => _completion.Task;

    public CancellationToken FactoryToken { get; }

    /// <summary>Adds a waiter; fails if every earlier waiter already gave up (the call is being abandoned).</summary>
    public bool TryJoin()
    {
        var current = Volatile.Read(ref _waiters);
        while (current > 0)
        {
            var seen = Interlocked.CompareExchange(ref _waiters, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    /// <summary>Removes a waiter that gave up; returns <see langword="true"/> if it was the last one.</summary>
    public bool Leave()
    {
        var current = Volatile.Read(ref _waiters);
        while (current > 0)
        {
            var next = current == 1 ? -1 : current - 1;
            var seen = Interlocked.CompareExchange(ref _waiters, next, current);
            if (seen == current)
            {
                return next == -1;
            }

            current = seen;
        }

        return false;
    }

    public void CancelFactory()
    {
        try
        {
            _cancellation?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The factory already finished.
        }
    }

    public void SetResult(TValue value) => _completion.TrySetResult(value);

    public void SetException(Exception exception)
    {
        if (exception is OperationCanceledException canceled && FactoryToken.IsCancellationRequested)
        {
            _completion.TrySetCanceled(canceled.CancellationToken);
        }
        else
        {
            _completion.TrySetException(exception);
        }

        // Observed here so that a failure nobody waited for does not surface as an unobserved task exception.
        _ = _completion.Task.Exception;
    }

    public void Dispose() => _cancellation?.Dispose();
}
