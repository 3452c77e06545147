using Microsoft.Extensions.Primitives;
using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>
/// <c>ChangeToken.OnChange</c> with a non-blocking detach: after each change the consumer runs, then a new token is
/// taken from the producer and registered. Disposing never waits for a running consumer.
/// </summary>
internal sealed class ChangeTokenLink : Detacher
{
    private static readonly Action<object?> OnChangedCallback = static state => ((ChangeTokenLink)state!).OnChanged();

    private readonly Lock _lock = new();
    private readonly Func<IChangeToken?> _producer;
    private readonly Action _consumer;
    private IDisposable? _registration;
    private bool _disposed;
    private int _running;
    private TaskCompletionSource? _idle;

    public ChangeTokenLink(Func<IChangeToken?> producer, Action consumer)
    {
        _producer = producer;
        _consumer = consumer;
    }

    /// <summary>Gets or sets a value indicating whether the active-subscriptions metric counted this link.</summary>
    public bool Counted { get; set; }

    public void Start() => RegisterNext();

    public override void Detach(object? slot0, object? slot1, object? slot2)
    {
        IDisposable? registration;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            registration = _registration;
            _registration = null;
            if (_running > 0)
            {
                // The registration has fired (its callback is running): nothing is left to remove, and disposing
                // it could wait for the consumer.
                registration = null;
            }
        }

        if (Counted)
        {
            Metrics.SubscriptionInstruments.Detached();
        }

        registration?.Dispose();
    }

    public override ValueTask WhenCallbacksIdleAsync(object? slot0, object? slot1, object? slot2)
    {
        lock (_lock)
        {
            if (_running == 0)
            {
                return default;
            }

            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return new ValueTask(_idle.Task);
        }
    }

    private void RegisterNext()
    {
        var token = _producer();
        if (token is null)
        {
            return;
        }

        var registration = token.RegisterChangeCallback(OnChangedCallback, this);
        IDisposable? toDispose = null;
        lock (_lock)
        {
            if (_disposed)
            {
                toDispose = registration;
            }
            else if (!token.HasChanged)
            {
                _registration = registration;
            }
        }

        toDispose?.Dispose();
    }

    private void OnChanged()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _running++;
            _registration = null;
        }

        try
        {
            _consumer();
        }
        finally
        {
            TaskCompletionSource? idle = null;
            bool disposed;
            lock (_lock)
            {
                _running--;
                disposed = _disposed;
                if (_running == 0)
                {
                    idle = _idle;
                    _idle = null;
                }
            }

            idle?.TrySetResult();
            if (!disposed)
            {
                RegisterNext();
            }
        }
    }
}
