using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using SafeRefs.Internal;

namespace SafeRefs.Timers;

/// <summary>
/// A one-shot or repeating timer owned by a <see cref="TimerScope"/>, created by <see cref="TimerScope.After(TimeSpan, Action)"/>,
/// <see cref="TimerScope.Every(TimeSpan, Action)"/> or their owner overloads.
/// </summary>
/// <remarks>
/// <para><b>Holds</b> its callback strongly and its scope weakly; an owner passed to an owner overload is held only
/// weakly (through a weak GC handle that the timer frees when it ends). The underlying <see cref="ITimer"/> (which the runtime's timer queue roots while it is scheduled) reaches
/// only this object, so a dropped, undisposed scope is collectable and its timers retire at their next tick. Keep
/// the scope referenced for as long as its timers should run.</para>
/// <para>A one-shot timer leaves its scope after its callback runs (unless the callback re-arms it with
/// <see cref="Change(TimeSpan, TimeSpan)"/>); an owner timer retires itself at the first tick after its owner is
/// collected. Callbacks run without the creator's <see cref="ExecutionContext"/>.</para>
/// <para><b>Thread safety:</b> all members are thread-safe. Callbacks of a repeating timer may overlap when a
/// callback runs longer than the period, as with <see cref="System.Threading.Timer"/>.</para>
/// <para><b>Second <see cref="Dispose"/>:</b> does nothing. <see cref="Dispose"/> does not wait for a running
/// callback; <see cref="DisposeAsync"/> does (do not await it inside the timer's own callback).</para>
/// </remarks>
public sealed class ScopedTimer : IDisposable, IAsyncDisposable, IScopeMember
{
    private const int RunningMask = (1 << 24) - 1;
    private const int OwnerBit = 1 << 26;
    private const int CountedBit = 1 << 27;
    private const int ArmedBit = 1 << 28;
    private const int PeriodicBit = 1 << 29;
    private const int DisposedBit = 1 << 30;

    /// <summary>Tests only: runs in a tick between its first read of the callback and its entry, the window in which
    /// a close must still be seen (by the read after the entry). Null in production.</summary>
    internal static Action<ScopedTimer>? BeforeEnterHook { get; set; }

    private static readonly TimerCallback TickCallback = static state => ((ScopedTimer)state!).OnTick();

    private readonly WeakReference<TimerScope> _scope;
    // Action or OwnerCallback; cleared when the timer ends. For a plain timer (an Action, not counted in the metric)
    // this field is the only closed flag: closing it is a plain store, since nothing in its closing must happen
    // exactly once (see Close).
    private object? _callback;
#pragma warning disable CA2213 // Disposed by Close (which Dispose calls) and by any tick that finds the timer ended.
    private ITimer? _timer;
#pragma warning restore CA2213
    private TaskCompletionSource? _idle;
    private int _state;

    // Created by its scope, which passes itself (no weak-reference read to check the metric) and its weak self.
    internal ScopedTimer(TimerScope scope, WeakReference<TimerScope> weakScope, object callback, bool owner, TimeSpan due, TimeSpan period)
    {
        _scope = weakScope;
        _callback = callback;
        var state = StateFor(due, period);
        if (owner)
        {
            state |= OwnerBit;
        }

        if (scope.CountTimerStarted())
        {
            state |= CountedBit;
        }

        _state = state;
    }

    /// <summary>Gets a value indicating whether the timer still belongs to its scope.</summary>
    /// <value><see langword="false"/> once it is disposed, its scope is disposed, a one-shot timer has fired, or its
    /// owner was collected.</value>
    public bool IsActive => Volatile.Read(ref _callback) is not null;

    // A timer's slot is reclaimed only by its scope's own scans (never through TimerScope.Remove), so it keeps no
    // slot number.
    int IScopeMember.Slot
    {
        get => -1;
        set
        {
        }
    }

    bool IScopeMember.CountsAsActive => true;

    bool IScopeMember.IsClosed => !IsActive;

    bool IScopeMember.IsBusy => IsRunning;

    /// <summary>Gets a value indicating whether a callback may be running (checked by the scope before it reuses the slot).</summary>
    internal bool IsRunning => (Volatile.Read(ref _state) & RunningMask) != 0;

    /// <summary>Changes the due time and period, like <see cref="ITimer.Change(TimeSpan, TimeSpan)"/>.</summary>
    /// <param name="due">The delay before the next callback; <see cref="Timeout.InfiniteTimeSpan"/> pauses the timer.</param>
    /// <param name="period">The period after that; <see cref="TimeSpan.Zero"/> or <see cref="Timeout.InfiniteTimeSpan"/>
    /// makes the timer one-shot (it leaves its scope after it fires).</param>
    /// <returns><see langword="true"/> if the timer was changed; <see langword="false"/> if it is no longer active.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="due"/> or <paramref name="period"/> is negative
    /// (other than <see cref="Timeout.InfiniteTimeSpan"/>) or too large.</exception>
    public bool Change(TimeSpan due, TimeSpan period)
    {
        TimerGuard.Due(due, allowInfinite: true, nameof(due));
        TimerGuard.Due(period, allowInfinite: true, nameof(period));
        var flags = StateFor(due, period);
        var state = Volatile.Read(ref _state);
        while (true)
        {
            if ((state & DisposedBit) != 0 || Volatile.Read(ref _callback) is null)
            {
                return false;
            }

            var seen = Interlocked.CompareExchange(ref _state, (state & ~(ArmedBit | PeriodicBit)) | flags, state);
            if (seen == state)
            {
                break;
            }

            state = seen;
        }

        var timer = Volatile.Read(ref _timer);
        return timer is not null && timer.Change(due, period);
    }

    /// <summary>Stops the timer and removes it from its scope. After it returns no new callback starts.</summary>
    public void Dispose() => Close(claim: false);

    /// <summary>Stops the timer, removes it from its scope and completes when no callback of it is running.</summary>
    /// <returns>A task that completes when running callbacks have finished.</returns>
    public ValueTask DisposeAsync()
    {
        Close(claim: false);
        return WhenIdleAsync();
    }

    void IScopeMember.CloseFromScope() => Close(claim: false);

    ValueTask IScopeMember.WhenIdleAsync() => WhenIdleAsync();

    internal void Start(TimeProvider timeProvider, TimeSpan due, TimeSpan period)
    {
        // The timer may fire (even synchronously, under a fake clock) before it is stored: the callback never needs
        // the handle except to dispose it, and a disposal that found no handle is completed here.
        // No fence here: if a concurrent disposal misses the handle and this check misses the disposal, the next tick
        // finds the timer disposed and disposes the handle (a paused timer is not in the timer queue at all).
        var timer = TimerGuard.Create(timeProvider, TickCallback, this, due, period);
        _timer = timer;
        if (Volatile.Read(ref _callback) is null)
        {
            timer.Dispose();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int StateFor(TimeSpan due, TimeSpan period)
    {
        var flags = 0;
        if (due != Timeout.InfiniteTimeSpan)
        {
            flags |= ArmedBit;
        }

        if (period != Timeout.InfiniteTimeSpan && period != TimeSpan.Zero)
        {
            flags |= PeriodicBit;
        }

        return flags;
    }

    private void OnTick()
    {
        if (!_scope.TryGetTarget(out var scope))
        {
            // The scope was dropped without Dispose and collected: retire so the timer stops firing.
            if (Close(claim: true))
            {
                TimerScope.NoteRetiredWithCollectedScope();
            }

            return;
        }

        // A callback read as null means the timer ended. Once entered (the running count raised by a full-fence
        // compare-and-swap), the callback is read again: a close that cleared it before that second read is seen, so
        // the callback does not start; a close that clears it after has not returned before the callback started.
        var callback = Volatile.Read(ref _callback);
        if (callback is null)
        {
            Volatile.Read(ref _timer)?.Dispose();
            return;
        }

        BeforeEnterHook?.Invoke(this);
        var state = Volatile.Read(ref _state);
        while (true)
        {
            if ((state & DisposedBit) != 0)
            {
                Volatile.Read(ref _timer)?.Dispose();
                return;
            }

            // Enter: one more running callback; a one-shot firing consumes its arming.
            var next = state + 1;
            if ((state & PeriodicBit) == 0)
            {
                next &= ~ArmedBit;
            }

            var seen = Interlocked.CompareExchange(ref _state, next, state);
            if (seen == state)
            {
                break;
            }

            state = seen;
        }

        if (Volatile.Read(ref _callback) is null)
        {
            // Closed between the first read and the entry: leave without calling back.
            Leave(callback);
            Volatile.Read(ref _timer)?.Dispose();
            return;
        }

        var ownerAlive = true;
        Exception? failure = null;
        try
        {
            if (callback is Action action)
            {
                action();
            }
            else
            {
                ownerAlive = ((OwnerCallback)callback).TryInvoke();
            }
        }
#pragma warning disable CA1031 // A callback's exception is reported to the scope's Error event or rethrown below.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = ex;
        }

        var after = Leave(callback);
        if (!ownerAlive || (after & (ArmedBit | PeriodicBit)) == 0)
        {
            Close(claim: false);
        }

        if (failure is not null && !scope.ReportFailure(failure, this, null))
        {
            // No Error handler: behave like System.Threading.Timer, whose callback exceptions are unhandled.
            ExceptionDispatchInfo.Throw(failure);
        }
    }

    // Lowers the running count (a full fence); the last callback out of an ended timer completes DisposeAsync's wait
    // and, for an owner timer, frees the owner's handle (exactly once: the closing compare-and-swap and this decrement
    // change the same word, so only one of them sees "ended and none running").
    private int Leave(object callback)
    {
        var after = Interlocked.Decrement(ref _state);
        if ((after & RunningMask) == 0)
        {
            // An idle source exists only once the timer has ended (DisposeAsync closes before it waits).
            Volatile.Read(ref _idle)?.TrySetResult();
            if ((after & DisposedBit) != 0)
            {
                ((OwnerCallback)callback).Release();
            }
        }

        return after;
    }

    // Ends the timer. Returns true if this call ended it; when claim is false, concurrent closes of a plain timer may
    // both return true (nothing they do must happen exactly once).
    private bool Close(bool claim)
    {
        var state = Volatile.Read(ref _state);
        if ((state & (OwnerBit | CountedBit)) == 0)
        {
            // A plain timer: clearing the callback is the whole close, and repeating it is harmless (disposing the
            // ITimer is idempotent), so a racing scope dispose needs no compare-and-swap. The store is ordered before
            // everything this thread does next; a tick entering concurrently re-reads the callback after its own
            // full fence (see OnTick), and DisposeAsync and the scope fence before they look for running callbacks.
            if (claim)
            {
                if (Interlocked.Exchange(ref _callback, null) is null)
                {
                    return false;
                }
            }
            else
            {
                if (Volatile.Read(ref _callback) is null)
                {
                    return false;
                }

                Volatile.Write(ref _callback, null);
            }

            Volatile.Read(ref _timer)?.Dispose();
            return true;
        }

        return CloseExactlyOnce(state);
    }

    // An owner timer (its handle is freed exactly once, after the last callback) or one counted in the metric (it is
    // uncounted exactly once).
    private bool CloseExactlyOnce(int state)
    {
        object? callback;
        if ((state & OwnerBit) != 0)
        {
            while (true)
            {
                if ((state & DisposedBit) != 0)
                {
                    return false;
                }

                var seen = Interlocked.CompareExchange(ref _state, state | DisposedBit, state);
                if (seen == state)
                {
                    break;
                }

                state = seen;
            }

            // Only the call that set the bit clears the callback, so it still reads it here.
            callback = _callback;
            Volatile.Write(ref _callback, null);
        }
        else
        {
            callback = Interlocked.Exchange(ref _callback, null);
            if (callback is null)
            {
                return false;
            }
        }

        Volatile.Read(ref _timer)?.Dispose();

        if ((state & (OwnerBit | RunningMask)) == OwnerBit)
        {
            // No callback is running and none can start: free the owner's handle now (else the last running
            // callback frees it as it leaves).
            ((OwnerCallback)callback!).Release();
        }

        if ((state & CountedBit) != 0)
        {
            Metrics.TimerEnded(_scope);
        }

        return true;
    }

    private ValueTask WhenIdleAsync()
    {
        // The close before this was a plain store for a plain timer: fence it against the running count's read.
        Interlocked.MemoryBarrier();
        if ((Volatile.Read(ref _state) & RunningMask) == 0)
        {
            return default;
        }

        var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var idle = Interlocked.CompareExchange(ref _idle, created, null) ?? created;
        if ((Volatile.Read(ref _state) & RunningMask) == 0)
        {
            idle.TrySetResult();
        }

        return new ValueTask(idle.Task);
    }
}
