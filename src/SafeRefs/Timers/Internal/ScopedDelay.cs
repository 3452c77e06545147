using SafeRefs.Diagnostics.Internal;

namespace SafeRefs.Timers.Internal;

/// <summary>A pending <see cref="TimerScope.Delay(TimeSpan, CancellationToken)"/>: completes when due, is cancelled with its token or its scope.</summary>
internal sealed class ScopedDelay : TaskCompletionSource, IScopeMember
{
    private static readonly TimerCallback FireCallback = static state => ((ScopedDelay)state!).Finish(null, fromScope: false);

    private readonly WeakReference<TimerScope> _scope;
    private readonly LiveCountTracker? _count; // lowered once, when the item ends
    private ITimer? _timer;
    private CancellationTokenRegistration _registration;
    private int _done;
    private int _started;
    private int _index = -1;

    public ScopedDelay(WeakReference<TimerScope> scope)
        : base(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        _scope = scope;
        _count = TimerCount.Started(scope);
    }

    int IScopeMember.Index
    {
        get => _index;
        set => _index = value;
    }

    bool IScopeMember.IsClosed => Volatile.Read(ref _done) != 0;

    bool IScopeMember.IsBusy => false;

    bool IScopeMember.RunsInCallingFlow => false;

    void IScopeMember.CloseFromScope() => Finish(CancellationToken.None, fromScope: true);

    ValueTask IScopeMember.WhenIdleAsync() => default;

    public void Start(TimeProvider timeProvider, TimeSpan due, CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            _registration = cancellationToken.UnsafeRegister(
                static (state, token) => ((ScopedDelay)state!).Finish(token, fromScope: false), this);
        }

        if (due != Timeout.InfiniteTimeSpan)
        {
            _timer = TimerArguments.Create(timeProvider, FireCallback, this, due, Timeout.InfiniteTimeSpan);
        }

        Interlocked.Exchange(ref _started, 1);
        if (Volatile.Read(ref _done) != 0)
        {
            ReleaseResources();
        }
    }

    // canceledBy: null = due; otherwise the token that cancelled it (None for the scope).
    private void Finish(CancellationToken? canceledBy, bool fromScope)
    {
        if (Interlocked.Exchange(ref _done, 1) != 0)
        {
            return;
        }

        if (Volatile.Read(ref _started) != 0)
        {
            ReleaseResources();
        }

        if (!fromScope && _scope.TryGetTarget(out var scope))
        {
            scope.Remove(this);
        }

        _count?.Decrement();

        if (canceledBy is { } token)
        {
            TrySetCanceled(token);
        }
        else
        {
            TrySetResult();
        }
    }

    private void ReleaseResources()
    {
        _timer?.Dispose();
        _registration.Unregister();
    }
}
