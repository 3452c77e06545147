using System.Runtime.ExceptionServices;
using SafeRefs.Diagnostics.Internal;

namespace SafeRefs.Timers.Internal;

/// <summary>A <see cref="TimerScope.CancelAfter(TimeSpan)"/> source: cancelled when due or when its scope ends, then disposed.</summary>
/// <remarks>Its timer is its own, not the source's (<c>new CancellationTokenSource(delay, timeProvider)</c>): a source
/// whose clock throws in its timer's <c>Dispose</c> would skip its token's callbacks, and a source cancelled by its own
/// timer throws its callbacks' failures into the timer thread. Here every failure goes to the scope's disposer, or is
/// reported when the timer fires.</remarks>
#pragma warning disable CA1001 // The source is disposed by the owning scope or once it has fired, never by a caller.
internal sealed class ScopedCancellation : IScopeMember
#pragma warning restore CA1001
{
    private static readonly TimerCallback FireCallback = static state => ((ScopedCancellation)state!).OnFired();

    private readonly WeakReference<TimerScope> _scope;
    private readonly CancellationTokenSource _source = new();
    private readonly LiveCountTracker? _count; // lowered once, when the item ends
    private ITimer? _timer;
    private int _done;
    private int _started;
    private int _released;
    private int _index = -1;

    public ScopedCancellation(WeakReference<TimerScope> scope)
    {
        _scope = scope;
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

    ValueTask IScopeMember.WhenIdleAsync() => default;

    /// <summary>Arms the timeout once the member is in its scope's table. If the clock throws, the source ends
    /// (uncounted and out of its scope) and the caller of <c>CancelAfter</c> gets the exception.</summary>
    public void Start(TimeProvider timeProvider, TimeSpan delay)
    {
        var refused = TimerArguments.TryArmOnce(timeProvider, FireCallback, this, delay, out _timer);

        Interlocked.Exchange(ref _started, 1);
        if (refused is not null)
        {
            // Nobody has the token yet, so cancelling it runs no callback.
            End(fromScope: false, out _);
            ExceptionDispatchInfo.Throw(refused);
        }

        // Closed by its scope before it was started: the timer is released here, by the caller of CancelAfter.
        if (Volatile.Read(ref _done) != 0 && ReleaseTimer() is { } failure)
        {
            ExceptionDispatchInfo.Throw(failure);
        }
    }

    void IScopeMember.CloseFromScope(bool report)
    {
        // As CancellationTokenSource.Cancel does: everything is stopped first, then the failures of the token's
        // callbacks (and of the clock) surface to the scope's disposer, or are reported when it has none.
        var failures = End(fromScope: true, out var refused);
        if (report)
        {
            Report(failures, refused);
        }
        else
        {
            TimerScope.ThrowEndFailures(refused, failures);
        }
    }

    // On the timer thread: nobody called for it, so failures are reported.
    private void OnFired()
    {
        var failures = End(fromScope: false, out var refused);
        Report(failures, refused);
    }

    // The clock's failure as the clock's (1204), the token callbacks' as failed callbacks (1200).
    private void Report(List<Exception>? failures, Exception? refused)
    {
        _scope.TryGetTarget(out var scope);
        TimerScope.ReportEndFailures(scope, refused, failures, null, null);
    }

    // Ends the source once: out of its scope, its timer released, its token cancelled, uncounted. Returns what the
    // token's callbacks threw; clockFailure is what the clock's ITimer.Dispose threw.
    private List<Exception>? End(bool fromScope, out Exception? clockFailure)
    {
        clockFailure = null;
        if (Interlocked.Exchange(ref _done, 1) != 0)
        {
            return null;
        }

        if (!fromScope && _scope.TryGetTarget(out var scope))
        {
            scope.Remove(this);
        }

        if (Volatile.Read(ref _started) != 0)
        {
            clockFailure = ReleaseTimer();
        }

        List<Exception>? failures = null;
        try
        {
            _source.Cancel();
        }
        catch (AggregateException ex)
        {
            (failures ??= []).AddRange(ex.InnerExceptions);
        }

        _source.Dispose();
        _count?.Decrement();
        return failures;
    }

    // Once (Start and End may both come here); returns what the clock's ITimer.Dispose threw.
    private Exception? ReleaseTimer()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return null;
        }

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
