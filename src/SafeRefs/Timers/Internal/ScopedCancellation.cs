using SafeRefs.Diagnostics.Internal;

namespace SafeRefs.Timers.Internal;

/// <summary>A <see cref="TimerScope.CancelAfter(TimeSpan)"/> source: cancelled when due or when its scope ends, then disposed.</summary>
#pragma warning disable CA1001 // The source is disposed by the owning scope or once it has fired, never by a caller.
internal sealed class ScopedCancellation : IScopeMember
#pragma warning restore CA1001
{
    private readonly WeakReference<TimerScope> _scope;
    private readonly CancellationTokenSource _source;
    private readonly LiveCountTracker? _count; // lowered once, when the item ends
    private int _done;
    private int _index = -1;

    public ScopedCancellation(WeakReference<TimerScope> scope, TimeSpan delay, TimeProvider timeProvider)
    {
        _scope = scope;
        if (delay == Timeout.InfiniteTimeSpan)
        {
            _source = new CancellationTokenSource();
        }
        else if (ExecutionContext.IsFlowSuppressed())
        {
            _source = new CancellationTokenSource(delay, timeProvider);
        }
        else
        {
            using (ExecutionContext.SuppressFlow())
            {
                _source = new CancellationTokenSource(delay, timeProvider);
            }
        }

        Token = _source.Token;
        _count = TimerCount.Started(scope);
    }

    public CancellationToken Token { get; }

    int IScopeMember.Index
    {
        get => _index;
        set => _index = value;
    }

    bool IScopeMember.IsClosed => Volatile.Read(ref _done) != 0;

    bool IScopeMember.IsBusy => false;

    bool IScopeMember.RunsInCallingFlow => false;

    ValueTask IScopeMember.WhenIdleAsync() => default;

    /// <summary>Call once the member is in its scope's table: watches for the source firing on its own.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage(
        "Reliability",
        "SR1005:CancellationToken registration is discarded",
        Justification = "Token is this member's own _source, which CloseFromScope cancels and disposes: the registration cannot outlive it.")]
    public void Watch()
    {
        // Runs synchronously if the source is already cancelled (a zero delay).
        Token.UnsafeRegister(static state => ((ScopedCancellation)state!).OnFired(), this);
    }

    void IScopeMember.CloseFromScope()
    {
        if (Interlocked.Exchange(ref _done, 1) != 0)
        {
            return;
        }

        try
        {
            // A throwing token callback surfaces to the scope's disposer, as CancellationTokenSource.Cancel does.
            _source.Cancel();
        }
        finally
        {
            Release();
        }
    }

    private void OnFired()
    {
        if (Interlocked.Exchange(ref _done, 1) != 0)
        {
            return;
        }

        if (_scope.TryGetTarget(out var scope))
        {
            scope.Remove(this);
        }

        Release();
    }

    private void Release()
    {
        _source.Dispose();
        _count?.Decrement();
    }
}
