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
    private const int CountedBit = 1 << 27;
    private const int ArmedBit = 1 << 28;
    private const int PeriodicBit = 1 << 29;
    private const int DisposedBit = 1 << 30;

    private static readonly TimerCallback TickCallback = static state => ((ScopedTimer)state!).OnTick();

    private readonly WeakReference<TimerScope> _scope;
    private object? _callback; // Action or OwnerCallback; cleared when the timer ends
#pragma warning disable CA2213 // Disposed by Close (which Dispose calls) and by any tick that finds the timer ended.
    private ITimer? _timer;
#pragma warning restore CA2213
    private TaskCompletionSource? _idle;
    private int _state;
    private int _slot = -1;

    // Created by its scope, which passes itself (no weak-reference read to check the metric) and its weak self.
    internal ScopedTimer(TimerScope scope, WeakReference<TimerScope> weakScope, object callback, TimeSpan due, TimeSpan period)
    {
        _scope = weakScope;
        _callback = callback;
        var state = StateFor(due, period);
        if (scope.CountTimerStarted())
        {
            state |= CountedBit;
        }

        _state = state;
    }

    /// <summary>Gets a value indicating whether the timer still belongs to its scope.</summary>
    /// <value><see langword="false"/> once it is disposed, its scope is disposed, a one-shot timer has fired, or its
    /// owner was collected.</value>
    public bool IsActive => (Volatile.Read(ref _state) & DisposedBit) == 0;

    int IScopeMember.Slot
    {
        get => _slot;
        set => _slot = value;
    }

    bool IScopeMember.CountsAsActive => true;

    bool IScopeMember.IsClosed => !IsActive;

    bool IScopeMember.IsBusy => (Volatile.Read(ref _state) & RunningMask) != 0;

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
            if ((state & DisposedBit) != 0)
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
    public void Dispose() => Close(fromScope: false);

    /// <summary>Stops the timer, removes it from its scope and completes when no callback of it is running.</summary>
    /// <returns>A task that completes when running callbacks have finished.</returns>
    public ValueTask DisposeAsync()
    {
        Close(fromScope: false);
        return WhenIdleAsync();
    }

    void IScopeMember.CloseFromScope() => Close(fromScope: true);

    ValueTask IScopeMember.WhenIdleAsync() => WhenIdleAsync();

    internal void Start(TimeProvider timeProvider, TimeSpan due, TimeSpan period)
    {
        // The timer may fire (even synchronously, under a fake clock) before it is stored: the callback never needs
        // the handle except to dispose it, and a disposal that found no handle is completed here.
        // No fence here: if a concurrent disposal misses the handle and this check misses the disposal, the next tick
        // finds the timer disposed and disposes the handle (a paused timer is not in the timer queue at all).
        var timer = TimerGuard.Create(timeProvider, TickCallback, this, due, period);
        _timer = timer;
        if ((Volatile.Read(ref _state) & DisposedBit) != 0)
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
            if (Close(fromScope: true))
            {
                TimerScope.NoteRetiredWithCollectedScope();
            }

            return;
        }

        // Read the callback before entering: Close sets the disposed bit before clearing it, so a callback read as
        // null means the timer ended, and one read before Close is never started once the bit is set.
        var callback = Volatile.Read(ref _callback);
        var state = Volatile.Read(ref _state);
        while (true)
        {
            if ((state & DisposedBit) != 0 || callback is null)
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

        var after = Interlocked.Decrement(ref _state);
        if ((after & (RunningMask | DisposedBit)) == DisposedBit)
        {
            // The timer ended while this callback ran, and this was the last one running.
            Volatile.Read(ref _idle)?.TrySetResult();
            (callback as OwnerCallback)?.Release();
        }

        if (!ownerAlive || (after & (ArmedBit | PeriodicBit)) == 0)
        {
            Close(fromScope: false);
        }

        if (failure is not null && !scope.ReportFailure(failure, this, null))
        {
            // No Error handler: behave like System.Threading.Timer, whose callback exceptions are unhandled.
            ExceptionDispatchInfo.Throw(failure);
        }
    }

    // Returns true for the one call that ended the timer.
#pragma warning disable IDE0060 // Same shape as the other scope members; a timer's slot is reclaimed lazily either way.
    private bool Close(bool fromScope)
#pragma warning restore IDE0060
    {
        var state = Volatile.Read(ref _state);
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

        // The scope reclaims the slot lazily (and counts only timers that are still active). Only this call clears
        // the callback, so it still reads it here.
        var callback = _callback;
        Volatile.Write(ref _callback, null);
        Volatile.Read(ref _timer)?.Dispose();

        if ((state & RunningMask) == 0)
        {
            // No callback is running and none can start: free the owner's handle now (else the last running
            // callback frees it as it leaves).
            (callback as OwnerCallback)?.Release();
        }

        if ((state & CountedBit) != 0)
        {
            Metrics.TimerEnded(_scope);
        }

        return true;
    }

    private ValueTask WhenIdleAsync()
    {
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
