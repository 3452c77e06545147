using System.Runtime.CompilerServices;
using SafeRefs.Internal;
using SafeRefs.Timers.Internal;

namespace SafeRefs.Timers;

/// <summary>
/// A one-shot or repeating timer owned by a <see cref="TimerScope"/>, created by <see cref="TimerScope.After(TimeSpan, Action)"/>,
/// <see cref="TimerScope.Every(TimeSpan, Action)"/> or their owner overloads.
/// </summary>
/// <remarks>
/// <para><b>Holds</b> its callback strongly and its scope weakly (strongly only while a callback runs, so a parent's
/// disposal still finds a dropped child scope that runs one); an owner passed to an owner overload is held only
/// weakly (a <see cref="WeakReference{T}"/>). The underlying <see cref="ITimer"/> (which the runtime's timer queue roots while it is scheduled) reaches
/// only this object, so a dropped, undisposed scope is collectable and its timers retire at their next tick. Keep
/// the scope referenced for as long as its timers should run.</para>
/// <para>A one-shot timer leaves its scope after its callback runs (unless the callback re-arms it with
/// <see cref="Change(TimeSpan, TimeSpan)"/>); an owner timer retires itself at the first tick after its owner is
/// collected. Callbacks run without the creator's <see cref="ExecutionContext"/>.</para>
/// <para>An asynchronous callback (the <c>Func&lt;CancellationToken, ValueTask&gt;</c> and <c>Func&lt;ValueTask&gt;</c>
/// overloads) counts as running until its whole body has returned: its exceptions, also those after an
/// <see langword="await"/>, are reported like a synchronous callback's, and <see cref="DisposeAsync"/> waits for it.
/// Its token is cancelled when the timer ends.</para>
/// <para><b>Thread safety:</b> all members are thread-safe. Callbacks of a repeating timer may overlap when a
/// callback runs longer than the period, as with <see cref="System.Threading.Timer"/> (use
/// <see cref="TimerScope.Loop(TimeSpan, Func{CancellationToken, ValueTask})"/> for runs that never overlap).</para>
/// <para><b>Second <see cref="Dispose"/>:</b> does nothing. <see cref="Dispose"/> does not wait for a running
/// callback; <see cref="DisposeAsync"/> does (do not await it inside the timer's own callback).</para>
/// </remarks>
public sealed class ScopedTimer : IDisposable, IAsyncDisposable, IScopeMember, IIdleAwaitable
{
    private const int RunningMask = (1 << 24) - 1;
    private const int PeriodicBit = 1 << 29;

    // _arming once a one-shot firing has ended the timer: no Change can re-arm it after that.
    private const int Fired = -1;

#if DEBUG
    /// <summary>Test seam: runs in a tick between its first read of the callback and its entry, the window in which a
    /// close must still be seen (by the read after the entry). Debug builds only: its static load per tick is part of
    /// the hot path.</summary>
    internal static Action<ScopedTimer>? BeforeEnterHook { get; set; }
#endif

    /// <summary>Tests only: runs in a wait for idle between its first read of the running count and the publish of
    /// its waiter, the window in which the last callback can leave unseen (by the read after the publish). Null in
    /// production.</summary>
    internal static Action<ScopedTimer>? BeforeIdlePublishHook { get; set; }

    // The state of a timer's first ITimer is the ScopedTimer itself (arming 0); a Change to one-shot creates a new
    // ITimer whose state is an Arming that remembers its number.
    private static readonly TimerCallback TickCallback = static state =>
    {
        if (state is ScopedTimer timer)
        {
            timer.OnTick(0);
        }
        else
        {
            var arming = (Arming)state!;
            arming.Timer.OnTick(arming.Number);
        }
    };

    // The scope (weakly), its clock and its count of active items, which the timer lowers once when it ends.
    private readonly ScopeShared _shared;
    // Action or OwnerCallback; cleared when the timer ends.
    private object? _callback;
#pragma warning disable CA2213 // Disposed by Close (which Dispose calls) and by any tick that finds the timer ended.
    private ITimer? _timer;
#pragma warning restore CA2213
    private TaskCompletionSource? _idle;
    private Lock? _changeLock;
    private int _state;

    // The number of the latest Change (0 before any), or Fired. A one-shot firing ends the timer only by swapping the
    // number its ITimer was armed with for Fired: a Change in between (even one that raced the tick before it entered)
    // moved the number, so the firing leaves the timer to the new arming.
    private int _arming;

    // Created by its scope, which passes itself (no weak-reference read to count the timer). The ITimer is created
    // paused and stored here, before anyone else can reach this timer: a close always finds it, and Start arms it
    // afterwards. The timer is counted only once its ITimer exists (a provider that throws leaves no count behind).
    internal ScopedTimer(TimerScope scope, object callback, TimeSpan period)
    {
        _callback = callback;
        _state = IsPeriodic(period) ? PeriodicBit : 0;
        _timer = TimerArguments.Create(scope.TimeProvider, TickCallback, this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _shared = scope.CountTimerStarted();
    }

    /// <summary>Gets a value indicating whether the timer still belongs to its scope.</summary>
    /// <value><see langword="false"/> once it is disposed, its scope is disposed, a one-shot timer has fired, or its
    /// owner was collected.</value>
    public bool IsActive => Volatile.Read(ref _callback) is not null;

    // A timer's cell is reclaimed only by its table's own scans (never through TimerScope.Remove), so it keeps no
    // index.
    int IScopeMember.Index
    {
        get => -1;
        set
        {
        }
    }

    bool IScopeMember.IsClosed => !IsActive;

    bool IScopeMember.IsBusy => IsRunning;

    /// <summary>Gets a value indicating whether a callback may be running (checked by the scope before it reuses the cell).</summary>
    internal bool IsRunning => (Volatile.Read(ref _state) & RunningMask) != 0;

    // Whether the caller runs inside a callback of this timer that has not ended (also after an await of an
    // asynchronous body): a DisposeAsync there would wait for itself.
    private bool RunsInCallingFlow => EnclosingCallbacks.IsInside(this);

    /// <summary>Changes the due time and period, like <see cref="ITimer.Change(TimeSpan, TimeSpan)"/>. A change that
    /// returns <see langword="true"/> always takes effect, even when it races a firing: a callback that was already
    /// due still runs, and the timer then fires at the new due time. Concurrent changes take effect one after another;
    /// the timer follows the last.</summary>
    /// <remarks>Changes of one timer are serialized, and the clock is called inside that serialization: its
    /// <see cref="TimeProvider.CreateTimer"/> and <see cref="ITimer.Change(TimeSpan, TimeSpan)"/> (and a callback the
    /// clock fires at once from them) may call <c>Change</c> on the same timer on the same thread, but must not wait for
    /// another thread that does: that deadlocks.</remarks>
    /// <param name="due">The delay before the next callback; <see cref="Timeout.InfiniteTimeSpan"/> pauses the timer.</param>
    /// <param name="period">The period after that; <see cref="TimeSpan.Zero"/> or <see cref="Timeout.InfiniteTimeSpan"/>
    /// makes the timer one-shot (it leaves its scope after it fires).</param>
    /// <returns><see langword="true"/> if the timer was changed (also when the one-shot firing it armed has already
    /// run and ended the timer before <c>Change</c> returned); <see langword="false"/> if it is no longer active.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="due"/> is negative (other than
    /// <see cref="Timeout.InfiniteTimeSpan"/>) or too large, or <paramref name="period"/> is neither zero nor
    /// <see cref="Timeout.InfiniteTimeSpan"/> and under 1 millisecond or too large.</exception>
    /// <exception cref="Exception">The clock's <see cref="TimeProvider.CreateTimer"/> or one of its
    /// <see cref="ITimer"/>s threw; the timer was closed, as by <see cref="Dispose"/>.</exception>
    public bool Change(TimeSpan due, TimeSpan period)
    {
        TimerArguments.Due(due, allowInfinite: true, nameof(due));
        TimerArguments.ChangePeriod(period, nameof(period));

        // One change at a time: its arming number, kind and ITimer move together, so an older change never installs
        // its ITimer (or re-arms one) after a newer change returned. Ticks and Close take no lock.
        lock (LazyInitializer.EnsureInitialized(ref _changeLock, static () => new Lock()))
        {
            return ChangeLocked(due, period);
        }
    }

    private bool ChangeLocked(TimeSpan due, TimeSpan period)
    {
        // Take a new arming number first: a one-shot firing that has not ended the timer yet then no longer can.
        var arming = Volatile.Read(ref _arming);
        while (true)
        {
            if (arming == Fired || Volatile.Read(ref _callback) is null)
            {
                return false;
            }

            var next = (arming + 1) & int.MaxValue;
            var seen = Interlocked.CompareExchange(ref _arming, next, arming);
            if (seen == arming)
            {
                arming = next;
                break;
            }

            arming = seen;
        }

        var periodic = IsPeriodic(period);
        var state = Volatile.Read(ref _state);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref _state, periodic ? state | PeriodicBit : state & ~PeriodicBit, state);
            if (seen == state)
            {
                break;
            }

            state = seen;
        }

        // From here the timer is half changed (its arming and kind moved, its ITimer not yet): if the clock throws, the
        // timer is closed and the caller gets the exception.
        if (periodic)
        {
            // Periodic firings never end the timer, so the running ITimer can simply be re-armed.
            var current = Volatile.Read(ref _timer);
            bool changed;
            try
            {
                changed = current is not null && current.Change(due, period);
            }
            catch (ObjectDisposedException) when (!IsActive)
            {
                // Closed meanwhile, by an ITimer that throws instead of returning false once disposed.
                return false;
            }
            catch (Exception ex)
            {
                CloseForClockFailure(ex);
                throw;
            }

            return changed && Volatile.Read(ref _callback) is not null;
        }

        // A one-shot arming gets an ITimer of its own, so a firing of the previous one that is already on its way
        // (it cannot be recalled) is recognised as stale: it still runs the callback, but does not end the timer.
        ITimer timer;
        try
        {
            timer = TimerArguments.Create(_shared.TimeProvider, TickCallback, new Arming(this, arming), due, Timeout.InfiniteTimeSpan);

            // Under the lock the number moves meanwhile only if the new ITimer has fired already: its firing ended the
            // timer, or its callback (run at once on this thread by the clock) changed the timer again, which stands.
            (Volatile.Read(ref _arming) == arming ? Interlocked.Exchange(ref _timer, timer) : timer)?.Dispose();
        }
        catch (Exception ex)
        {
            CloseForClockFailure(ex);
            throw;
        }

        if (Volatile.Read(ref _callback) is null)
        {
            // Closed meanwhile; the close may have disposed the previous ITimer only. Only this arming's own firing
            // (the clock fired it at once) ends the timer as Fired here: then the change took effect.
            timer.Dispose();
            return Volatile.Read(ref _arming) == Fired;
        }

        return true;
    }

    /// <summary>Stops the timer and removes it from its scope. After it returns no new callback starts; the token of
    /// an asynchronous callback is cancelled.</summary>
    /// <exception cref="AggregateException">Callbacks registered on an asynchronous callback's token, or the
    /// <c>Dispose</c> of the clock's <see cref="ITimer"/>, threw; the timer was still stopped, as
    /// <see cref="CancellationTokenSource.Cancel()"/> would report it.</exception>
    public void Dispose() => Close();

    /// <summary>Stops the timer, removes it from its scope and completes when no callback of it is running.</summary>
    /// <returns>A task that completes when running callbacks have finished; it faults with
    /// <see cref="InvalidOperationException"/> when awaited from inside the timer's own callback, which it would wait
    /// for forever.</returns>
    public ValueTask DisposeAsync() => DisposeThenWait(checkOwnCallback: true);

    bool IIdleAwaitable.IsCallingFromOwnCallback => RunsInCallingFlow;

    ValueTask IIdleAwaitable.DisposeThenWhenIdleAsync() => DisposeThenWait(checkOwnCallback: false);

    private ValueTask DisposeThenWait(bool checkOwnCallback)
    {
        Exception? failure = null;
        try
        {
            Close();
        }
#pragma warning disable CA1031 // Token callbacks or the clock's ITimer.Dispose: faults the returned task.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = ex;
        }

        if (checkOwnCallback && RunsInCallingFlow)
        {
            // Checked also when the close threw: waiting to rethrow would wait for this callback too.
            return ValueTask.FromException(new InvalidOperationException(
                "ScopedTimer.DisposeAsync was awaited inside the timer's own callback, which it would wait for forever. Call Dispose there instead.",
                failure));
        }

        return failure is null ? WhenIdleAsync() : ThrowWhenIdleAsync(failure);
    }

    void IScopeMember.CloseFromScope(bool report)
    {
        if (report)
        {
            _shared.Scope.TryGetTarget(out var scope);
            CloseAndReport(scope);
        }
        else
        {
            Close();
        }
    }

    ValueTask IScopeMember.WhenIdleAsync() => WhenIdleAsync();

    /// <summary>Arms the paused ITimer, once the timer is in its scope. A close that came first (the scope's disposal
    /// on another thread) disposed it, and arming a disposed ITimer is refused, so the timer never runs after a close.</summary>
    internal void Start(TimeSpan due, TimeSpan period)
    {
        try
        {
            _timer!.Change(due, period);
        }
        catch (ObjectDisposedException) when (!IsActive)
        {
            // An ITimer of another provider that throws instead of returning false: closed already, nothing to arm.
        }
        catch (Exception ex)
        {
            CloseForClockFailure(ex);
            throw;
        }
    }

    // The clock threw while arming the timer, leaving its state unknown: the timer is closed (uncounted, out of its
    // scope) before the caller rethrows the exception; if the clock throws in the close too, both go in one
    // AggregateException.
    private void CloseForClockFailure(Exception failure)
    {
        try
        {
            Close();
        }
        catch (AggregateException ex)
        {
            throw new AggregateException(ex.InnerExceptions.Prepend(failure));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsPeriodic(TimeSpan period) => period != Timeout.InfiniteTimeSpan && period != TimeSpan.Zero;

    private void OnTick(int arming)
    {
        if (!_shared.Scope.TryGetTarget(out var scope))
        {
            // The scope was dropped without Dispose and collected: retire so the timer stops firing.
            if (CloseAndReport(null))
            {
                TimerScope.NoteRetiredWithCollectedScope();
            }

            return;
        }

        // A callback read as null means the timer ended. Once entered (the running count raised by a full-fence
        // compare-and-swap), the callback and the scope's disposal are read again: a close that cleared the callback,
        // or a scope disposal that began, before that second read is seen, so the callback does not start; one that
        // comes after has not returned before the callback started.
        var callback = Volatile.Read(ref _callback);
        if (callback is null)
        {
            DisposeITimerOnTick(scope);
            return;
        }

#if DEBUG
        BeforeEnterHook?.Invoke(this);
#endif
        Interlocked.Increment(ref _state);
        if (Volatile.Read(ref _callback) is null)
        {
            // Closed between the first read and the entry: leave without calling back.
            Leave();
            DisposeITimerOnTick(scope);
            return;
        }

        if (scope.IsDisposing)
        {
            // A disposal of the scope (or a parent) began and will close this timer; a second Dispose that saw it may
            // already have returned, so the callback must not start.
            Leave();
            return;
        }

        var frame = EnclosingCallbacks.Enter(this, _shared.Scope);
        var ownerAlive = true;
        Exception? failure = null;
        var run = default(ValueTask);
        try
        {
            if (callback is Action action)
            {
                action();
            }
            else if (callback is AsyncTimerCallback asyncCallback)
            {
                run = asyncCallback.Start();
            }
            else
            {
                ownerAlive = ((OwnerCallback)callback).TryInvoke();
            }
        }
#pragma warning disable CA1031 // A callback's exception is reported in Exit (log, metric, Error event).
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = ex;
        }

        if (!run.IsCompleted)
        {
            // An asynchronous body runs on: the timer counts as running (DisposeAsync waits, errors are reported) and
            // the call has not ended until the whole body has returned.
            var body = frame.EndsWith(run);
            EnclosingCallbacks.Leave(frame);
            _ = ExitWhenRunEndsAsync(body, (AsyncTimerCallback)callback, arming, frame, scope);
            return;
        }

        EnclosingCallbacks.Exit(frame);

        if (callback is AsyncTimerCallback completed && failure is null)
        {
            failure = RunFailure(run, completed);
        }

        Exit(arming, ownerAlive, failure, scope);
    }

    // The failure of a completed run, or null (also for a run cancelled because the timer ended).
    private Exception? RunFailure(ValueTask run, AsyncTimerCallback callback)
    {
        try
        {
            run.GetAwaiter().GetResult();
            return null;
        }
        catch (OperationCanceledException) when (IsEnding(callback))
        {
            return null;
        }
#pragma warning disable CA1031 // Reported in Exit.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return ex;
        }
    }

    // Holds the scope strongly until the body has returned (only while it runs): a dropped child scope whose body
    // runs stays reachable from its parent, whose disposal then stops it and waits for it.
    private async Task ExitWhenRunEndsAsync(Task run, AsyncTimerCallback callback, int arming, EnclosingCallbacks.Frame frame, TimerScope scope)
    {
        Exception? failure = null;
        try
        {
            await run.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (IsEnding(callback))
        {
            // The timer ended while the body ran.
        }
#pragma warning disable CA1031 // Reported in Exit.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = ex;
        }

        frame.End();
        Exit(arming, ownerAlive: true, failure, scope);
    }

    // The end of a run: report a failure, leave, end a one-shot timer. Never throws.
    private void Exit(int arming, bool ownerAlive, Exception? failure, TimerScope? scope)
    {
        if (failure is not null)
        {
            // Logged, counted and raised on Error; never rethrown: no user callback may end the process. Reported before
            // leaving, so DisposeAsync completes only after the report, and inside the callback's flow, so a
            // DisposeAsync awaited in an Error handler faults instead of waiting for that handler.
            var frame = EnclosingCallbacks.Enter(this, _shared.Scope);
            TimerScope.ReportFailure(scope, failure, this, null);
            EnclosingCallbacks.Exit(frame);
        }

        var after = Leave();

        // A one-shot firing ends the timer unless a Change re-armed it since that firing's arming.
        if (!ownerAlive || ((after & PeriodicBit) == 0 && Interlocked.CompareExchange(ref _arming, Fired, arming) == arming))
        {
            CloseAndReport(scope);
        }
    }

    // A close on the timer thread, where nobody called for it: each failure is reported as what it is, the clock's
    // (1204) apart from the token callbacks' (1200). Never throws.
    private bool CloseAndReport(TimerScope? scope)
    {
        var closed = Close(out var clockFailure, out var callbackFailures);
        TimerScope.ReportEndFailures(scope, clockFailure, callbackFailures?.InnerExceptions, this, null);
        return closed;
    }

    // A tick that found the timer ended disposes its ITimer; the clock's Dispose is user code, so a failure is reported,
    // never thrown into the timer thread.
    private void DisposeITimerOnTick(TimerScope scope)
    {
        try
        {
            Volatile.Read(ref _timer)?.Dispose();
        }
#pragma warning disable CA1031 // Reported (log, metric, Error event).
        catch (Exception ex)
#pragma warning restore CA1031
        {
            TimerScope.ReportFailure(scope, ex, this, null, clock: true);
        }
    }

    // Lowers the running count (a full fence); the last callback out of an ended timer completes DisposeAsync's wait.
    private int Leave()
    {
        var after = Interlocked.Decrement(ref _state);
        if ((after & RunningMask) == 0)
        {
            // An idle source exists only once the timer has ended (DisposeAsync closes before it waits).
            Volatile.Read(ref _idle)?.TrySetResult();
        }

        return after;
    }

    // Whether a body's cancellation is the timer ending, not a failure: its token was cancelled, or the timer or its scope
    // has begun closing (a disposal may cancel what the body awaits, a CancelAfter token or a Delay of the scope, before
    // it reaches the timer's own token).
    private bool IsEnding(AsyncTimerCallback callback) =>
        callback.IsCancellationRequested || !IsActive || (_shared.Scope.TryGetTarget(out var scope) && scope.IsDisposing);

    // Ends the timer. Returns true if this call ended it. The closer gets every failure in one AggregateException,
    // the clock's first, as a scope's or a loop's Dispose reports them.
    private bool Close()
    {
        var closed = Close(out var clockFailure, out var callbackFailures);
        TimerScope.ThrowEndFailures(clockFailure, callbackFailures?.InnerExceptions);
        return closed;
    }

    // Ends the timer, uncounted and cancelled even when the clock's ITimer.Dispose (user code) throws. Clearing the
    // callback (a full fence, so the ITimer read below cannot move above it) is what a tick checks after raising the
    // running count. Nothing is thrown: the clock's failure and the token callbacks' come back apart.
    private bool Close(out Exception? clockFailure, out AggregateException? callbackFailures)
    {
        clockFailure = null;
        callbackFailures = null;
        var ended = Interlocked.Exchange(ref _callback, null);
        if (ended is null)
        {
            return false;
        }

        _shared.Count.Decrement();
        try
        {
            Volatile.Read(ref _timer)?.Dispose();
        }
#pragma warning disable CA1031 // Returned to the closer, with the token callbacks' failures.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            clockFailure = ex;
        }

        if (ended is AsyncTimerCallback asyncCallback)
        {
            try
            {
                asyncCallback.Cancel();
            }
            catch (AggregateException ex)
            {
                callbackFailures = ex;
            }
        }

        return true;
    }

    private async ValueTask ThrowWhenIdleAsync(Exception failure)
    {
        await WhenIdleAsync().ConfigureAwait(false);
        throw failure;
    }

    /// <summary>Completes when no callback of the (closed) timer is running; never faults.</summary>
    internal ValueTask WhenIdleAsync()
    {
        if ((Volatile.Read(ref _state) & RunningMask) == 0)
        {
            return default;
        }

        BeforeIdlePublishHook?.Invoke(this);
        var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var idle = Interlocked.CompareExchange(ref _idle, created, null) ?? created;
        if ((Volatile.Read(ref _state) & RunningMask) == 0)
        {
            idle.TrySetResult();
        }

        return new ValueTask(idle.Task);
    }

    /// <summary>The state of a one-shot arming's own ITimer: which arming its firing belongs to.</summary>
    private sealed class Arming(ScopedTimer timer, int number)
    {
        public ScopedTimer Timer { get; } = timer;

        public int Number { get; } = number;
    }
}
