using SafeRefs.Diagnostics.Internal;
using SafeRefs.Internal;
using SafeRefs.Timers.Internal;

namespace SafeRefs.Timers;

/// <summary>
/// A delay loop owned by a <see cref="TimerScope"/>, created by
/// <see cref="TimerScope.Loop{TOwner}(TOwner, TimeSpan, Func{TOwner, CancellationToken, ValueTask})"/> or
/// <see cref="TimerScope.Loop(TimeSpan, Func{CancellationToken, ValueTask})"/>: wait the interval, run the body,
/// repeat; the next interval starts after the body finishes.
/// </summary>
/// <remarks>
/// <para><b>Holds</b> its body delegate strongly, its owner and its scope only weakly (the scope strongly only while
/// a body runs, so a parent's disposal still finds a dropped child scope that runs one): while it waits the loop keeps
/// nothing but weak references (it is one re-armed timer, not an <see langword="async"/> method whose state machine
/// would hoist the owner), so a loop never keeps its owner alive. The owner is resolved only to start each body
/// run. Once the owner is collected (or the scope is collected undisposed) the loop ends at its next tick. A loop
/// created without an owner holds its body (and what it captures) until it has ended and its last body run has
/// finished (when <see cref="Completion"/> completes).</para>
/// <para>Iterations never overlap. A body that throws is logged, counted and reported to the scope's
/// <see cref="TimerScope.Error"/> event, and the loop continues; it never ends the process. <see cref="Completion"/> completes successfully when the loop ends for any reason.
/// Bodies run without the creator's <see cref="ExecutionContext"/>.</para>
/// <para><b>Thread safety:</b> all members are thread-safe.</para>
/// <para><b>Second <see cref="Dispose"/>:</b> does nothing. <see cref="Dispose"/> cancels the token passed to the
/// body and does not wait; <see cref="DisposeAsync"/> also waits for a running body (do not await it inside the
/// body).</para>
/// </remarks>
public sealed class ScopedLoop : IDisposable, IAsyncDisposable, IScopeMember, IIdleAwaitable
{
    private static readonly TimerCallback TickCallback = static state => ((ScopedLoop)state!).OnTick();

    private readonly WeakReference<TimerScope> _scope;
    private LoopBody? _body; // released when the loop has completed, so an ended loop kept by someone holds no captures
    private readonly TimeSpan _interval;
#pragma warning disable CA2213 // Never disposed: it has no timer, and a close may be cancelling it while the last body completes.
    private readonly CancellationTokenSource _cts = new();
#pragma warning restore CA2213
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Action _onRunCompleted;
    private readonly LiveCountTracker? _count; // lowered once, when the item ends
    private ITimer? _timer;
    private Task? _run;
    private EnclosingCallbacks.Frame? _runFrame; // the running body's call, ended when the body has finished
    // The scope, held strongly only while a body runs: a dropped child scope whose body runs stays reachable from its
    // parent, whose disposal then stops the loop and waits for the body.
    private TimerScope? _runScope;
    private int _closed;
    private int _running;
    private int _index = -1;

    internal ScopedLoop(WeakReference<TimerScope> scope, LoopBody body, TimeSpan interval)
    {
        _scope = scope;
        _body = body;
        _interval = interval;
        _onRunCompleted = OnRunCompleted;
        _count = TimerCount.Started(scope);
    }

    /// <summary>Gets a task that completes when the loop has ended and its last body run has finished.</summary>
    /// <value>Completes successfully (never faults or cancels) after disposal, scope disposal or owner collection.</value>
    public Task Completion => _completion.Task;

    /// <summary>Gets a value indicating whether the loop still belongs to its scope.</summary>
    /// <value><see langword="false"/> once it is disposed or has ended.</value>
    public bool IsActive => Volatile.Read(ref _closed) == 0;

    int IScopeMember.Index
    {
        get => _index;
        set => _index = value;
    }

    bool IScopeMember.IsClosed => Volatile.Read(ref _closed) != 0;

    bool IScopeMember.IsBusy => !_completion.Task.IsCompleted;

    // Whether the caller runs inside a body of this loop that has not finished (also after an await in it): a
    // DisposeAsync there would wait for itself.
    private bool RunsInCallingFlow => EnclosingCallbacks.IsInside(this);

    /// <summary>Stops the loop: cancels the token passed to the body and removes the loop from its scope.</summary>
    /// <exception cref="AggregateException">Callbacks registered on the body's token, or the <c>Dispose</c> of the
    /// clock's <see cref="ITimer"/>, threw; the loop was still stopped.</exception>
    public void Dispose() => Close(fromScope: false);

    /// <summary>Stops the loop and completes when its running body, if any, has finished.</summary>
    /// <returns>A task that completes with <see cref="Completion"/>; it faults with
    /// <see cref="InvalidOperationException"/> when called inside the loop's own body (also after an
    /// <see langword="await"/> in it), which it would wait for forever, and, once the body has finished, with the
    /// <see cref="AggregateException"/> <see cref="Dispose"/> would throw.</returns>
    public ValueTask DisposeAsync() => DisposeThenWait(checkOwnCallback: true);

    bool IIdleAwaitable.IsCallingFromOwnCallback => RunsInCallingFlow;

    ValueTask IIdleAwaitable.DisposeThenWhenIdleAsync() => DisposeThenWait(checkOwnCallback: false);

    private ValueTask DisposeThenWait(bool checkOwnCallback)
    {
        AggregateException? failure = null;
        try
        {
            Close(fromScope: false);
        }
        catch (AggregateException ex)
        {
            // Token callbacks or the clock's ITimer.Dispose threw: the returned task faults with it once idle.
            failure = ex;
        }

        if (checkOwnCallback && RunsInCallingFlow)
        {
            // Checked also when the close threw: waiting to rethrow would wait for this body too.
            return ValueTask.FromException(new InvalidOperationException(
                "ScopedLoop.DisposeAsync was awaited inside the loop's own body, which it would wait for forever. Call Dispose there instead.",
                failure));
        }

        return failure is null ? new ValueTask(_completion.Task) : ThrowWhenIdleAsync(failure);
    }

    void IScopeMember.CloseFromScope(bool report)
    {
        if (report)
        {
            CloseAndReport(fromScope: true);
        }
        else
        {
            Close(fromScope: true);
        }
    }

    private async ValueTask ThrowWhenIdleAsync(AggregateException failure)
    {
        await _completion.Task.ConfigureAwait(false);
        throw failure;
    }

    ValueTask IScopeMember.WhenIdleAsync() => new(_completion.Task);

    /// <summary>Arms the loop once it is in its scope's table. If the clock throws, the loop is closed (uncounted,
    /// out of its scope) and the caller of <c>Loop</c> gets the exception.</summary>
    internal void Start(TimeProvider timeProvider)
    {
        try
        {
            // Created paused and stored before arming, so a tick always finds the handle it re-arms.
            var timer = TimerArguments.Create(timeProvider, TickCallback, this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            Interlocked.Exchange(ref _timer, timer);
            if (Volatile.Read(ref _closed) != 0)
            {
                timer.Dispose();
                return;
            }

            timer.Change(_interval, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException) when (Volatile.Read(ref _closed) != 0)
        {
            // Closed meanwhile, by an ITimer that throws instead of returning false once disposed.
        }
        catch (Exception ex) when (Volatile.Read(ref _closed) == 0)
        {
            try
            {
                Close(fromScope: false);
            }
            catch (AggregateException closing)
            {
                throw new AggregateException(closing.InnerExceptions.Prepend(ex));
            }

            throw;
        }
    }

    private void OnTick()
    {
        if (Volatile.Read(ref _closed) != 0)
        {
            return;
        }

        if (!_scope.TryGetTarget(out var scope))
        {
            // The scope was dropped without Dispose and collected.
            CloseAndReport(fromScope: false);
            TimerScope.NoteRetiredWithCollectedScope();
            return;
        }

        // Once marked running (a full fence), the close and the scope's disposal are read again: one that began before
        // is seen, so the body does not start (a second Dispose of the scope may already have returned); one that comes
        // after sees the body running and waits for it.
        Interlocked.Exchange(ref _running, 1);
        if (Volatile.Read(ref _closed) != 0 || scope.IsDisposing)
        {
            // Not re-armed: the close, or the disposal that is closing the loop, completes it.
            EndRun();
            return;
        }

        _runScope = scope;
        var frame = EnclosingCallbacks.Enter(this, _scope);
        bool started;
        ValueTask run;
        try
        {
            // Not null: a completion clears it only once the loop is closed and not running, and this tick, marked
            // running, saw the loop open after that mark.
            started = _body!.TryStart(_cts.Token, out run);
        }
        finally
        {
            EnclosingCallbacks.Leave(frame); // the call ends when the whole body has finished
        }

        if (!started)
        {
            // The owner was collected: retire.
            frame.End();
            _runScope = null;
            Interlocked.Exchange(ref _running, 0);
            CloseAndReport(fromScope: false);
            return;
        }

        if (run.IsCompleted)
        {
            Finish(run, frame);
        }
        else
        {
            // Its completion ends the call, even before OnRunCompleted runs.
            var body = frame.EndsWith(run);
            _run = body;
            _runFrame = frame;
            body.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onRunCompleted);
        }
    }

    private void OnRunCompleted()
    {
        var run = _run!;
        var frame = _runFrame!;
        _run = null;
        _runFrame = null;
        Finish(new ValueTask(run), frame);
    }

    private void Finish(ValueTask run, EnclosingCallbacks.Frame frame)
    {
        Exception? failure = null;
        try
        {
            run.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (_cts.IsCancellationRequested || Volatile.Read(ref _closed) != 0
            || (_scope.TryGetTarget(out var scope) && scope.IsDisposing))
        {
            // The loop was stopped while the body ran; a disposal of its scope may cancel what the body awaits (a
            // CancelAfter token or a Delay of the scope) before it reaches the loop's own token.
        }
#pragma warning disable CA1031 // Reported below (log, metric, Error event).
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = ex;
        }

        frame.End();
        if (failure is not null)
        {
            // Reported while the body still counts as running, so DisposeAsync and Completion complete only after the
            // report (which never throws), and inside the body's flow, so a DisposeAsync awaited in an Error handler
            // faults instead of waiting for that handler.
            var report = EnclosingCallbacks.Enter(this, _scope);
            _scope.TryGetTarget(out var scope);
            TimerScope.ReportFailure(scope, failure, null, this);
            EnclosingCallbacks.Exit(report);
        }

        // Not running any more before the next interval is armed: a tick of that interval may start the next body at
        // once, and its own running mark must not be erased by this one's. A close that raced in completes here.
        _runScope = null;
        EndRun();
        if (Volatile.Read(ref _closed) == 0)
        {
            // A close after the check disposed the timer: the re-arm is then refused (Change on a disposed ITimer
            // returns false).
            Rearm();
        }
    }

    // On the timer thread (or a body's continuation): a clock that refuses the re-arm ends the loop, which cannot go
    // on, and is reported; nothing is thrown there.
    private void Rearm()
    {
        try
        {
            Volatile.Read(ref _timer)?.Change(_interval, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException) when (Volatile.Read(ref _closed) != 0)
        {
            // Closed meanwhile, by an ITimer that throws instead of returning false once disposed.
        }
#pragma warning disable CA1031 // Reported (log, metric, Error event).
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _scope.TryGetTarget(out var scope);
            TimerScope.ReportFailure(scope, ex, null, this, clock: true);
            CloseAndReport(fromScope: false);
        }
    }

    private void EndRun()
    {
        Interlocked.Exchange(ref _running, 0);
        if (Volatile.Read(ref _closed) != 0)
        {
            Complete();
        }
    }

    // The token source is not disposed here: a close may still be cancelling it on another thread, and a source
    // without a timer holds nothing that disposal would release.
    private void Complete()
    {
        Volatile.Write(ref _body, null);
        _completion.TrySetResult();
    }

    private void Close(bool fromScope)
    {
        Close(fromScope, out var clockFailure, out var callbackFailures);
        TimerScope.ThrowEndFailures(clockFailure, callbackFailures?.InnerExceptions);
    }

    // Ends the loop even when the clock's ITimer.Dispose (user code) throws. Nothing is thrown: the clock's failure and
    // the token callbacks' come back apart.
    private void Close(bool fromScope, out Exception? clockFailure, out AggregateException? callbackFailures)
    {
        clockFailure = null;
        callbackFailures = null;
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        try
        {
            Volatile.Read(ref _timer)?.Dispose();
        }
#pragma warning disable CA1031 // The clock's ITimer.Dispose is user code: the loop still stops, the closer sees it.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            clockFailure = ex;
        }

        try
        {
            _cts.Cancel();
        }
        catch (AggregateException ex)
        {
            callbackFailures = ex;
        }

        _count?.Decrement();

        if (Volatile.Read(ref _running) == 0)
        {
            Complete();
        }

        // After completing: the table keeps a member that is still busy, and with it the body and its captures.
        if (!fromScope && _scope.TryGetTarget(out var scope))
        {
            scope.Remove(this);
        }
    }

    // A close with no caller to surface failures to (the owner or the scope was collected, or the clock refused a
    // re-arm, the scope's lifetime token): the clock's failure is reported as the clock's (1204), each token callback's
    // on its own as the loop's (1201), as a timer reports its token's.
    private void CloseAndReport(bool fromScope)
    {
        Close(fromScope, out var clockFailure, out var callbackFailures);
        _scope.TryGetTarget(out var scope);
        TimerScope.ReportEndFailures(scope, clockFailure, callbackFailures?.InnerExceptions, null, this);
    }
}
