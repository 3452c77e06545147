using System.Runtime.ExceptionServices;
using SafeRefs.Diagnostics.Internal;

namespace SafeRefs.Timers.Internal;

/// <summary>A pending <see cref="TimerScope.Delay(TimeSpan, CancellationToken)"/>: completes when due, is cancelled with its token or its scope.</summary>
internal sealed class ScopedDelay : TaskCompletionSource, IScopeMember
{
    private static readonly TimerCallback FireCallback = static state => ((ScopedDelay)state!).OnFired();

    private readonly WeakReference<TimerScope> _scope;
    private readonly LiveCountTracker? _count; // lowered once, when the item ends
    private ITimer? _timer;
    private CancellationTokenRegistration _registration;
    private int _done;
    private int _started;
    private int _released;
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

    void IScopeMember.CloseFromScope(bool report) => Finish(CancellationToken.None, fromScope: true, report);

    ValueTask IScopeMember.WhenIdleAsync() => default;

    /// <summary>Arms the delay once it is in its scope's table. If the clock throws, the delay ends (uncounted and out
    /// of its scope) and the caller of <c>Delay</c> gets the exception.</summary>
    public void Start(TimeProvider timeProvider, TimeSpan due, CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            _registration = cancellationToken.UnsafeRegister(
                static (state, token) => ((ScopedDelay)state!).Finish(token, fromScope: false), this);
        }

        var refused = TimerArguments.TryArmOnce(timeProvider, FireCallback, this, due, out _timer);

        Interlocked.Exchange(ref _started, 1);
        if (refused is not null)
        {
            Finish(CancellationToken.None, fromScope: false);
            ExceptionDispatchInfo.Throw(refused);
        }

        // Ended (by its token or its scope) before it was started: released here, by the caller of Delay.
        if (Volatile.Read(ref _done) != 0 && Release() is { } failure)
        {
            ExceptionDispatchInfo.Throw(failure);
        }
    }

    // On the timer thread. A disposal of the scope (or a parent) that began will cancel the delay, and a second Dispose
    // that saw it may already have returned: the delay ends cancelled, not due. So does a delay whose scope was dropped
    // undisposed and collected (nothing ends it earlier; an infinite one ends only with its token).
    private void OnFired() =>
        Finish(!_scope.TryGetTarget(out var scope) || scope.IsDisposing ? CancellationToken.None : null, fromScope: false);

    // canceledBy: null = due; otherwise the token that cancelled it (None for the scope). Ends the delay completely
    // even when the clock's ITimer.Dispose throws: the scope's disposer gets that failure; on a timer thread, in a
    // token's canceller or for the scope's lifetime token (none of which called for it) it is reported.
    private void Finish(CancellationToken? canceledBy, bool fromScope, bool report = false)
    {
        if (Interlocked.Exchange(ref _done, 1) != 0)
        {
            return;
        }

        var failure = Volatile.Read(ref _started) != 0 ? Release() : null;
        _scope.TryGetTarget(out var scope);
        if (!fromScope)
        {
            scope?.Remove(this);
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

        if (failure is not null)
        {
            if (fromScope && !report)
            {
                ExceptionDispatchInfo.Throw(failure);
            }

            TimerScope.ReportFailure(scope, failure, null, null, clock: true);
        }
    }

    // Once (Start and Finish may both come here): the token registration and the clock's timer. Returns what the
    // clock's ITimer.Dispose threw.
    private Exception? Release()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return null;
        }

        _registration.Unregister();
        try
        {
            _timer?.Dispose();
            return null;
        }
#pragma warning disable CA1031 // The clock is user code: returned to the caller, who throws or reports it.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return ex;
        }
    }
}
