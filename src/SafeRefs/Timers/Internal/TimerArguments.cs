using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace SafeRefs.Timers.Internal;

/// <summary>Argument checks and flow-suppressed timer creation shared by the timer scope types.</summary>
internal static class TimerArguments
{
    // ITimer implementations accept at most uint.MaxValue - 1 milliseconds.
    private const long MaxTicks = (uint.MaxValue - 1L) * TimeSpan.TicksPerMillisecond;

    /// <summary>A due time: zero or positive, or <see cref="Timeout.InfiniteTimeSpan"/> when <paramref name="allowInfinite"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Due(TimeSpan value, bool allowInfinite, string paramName)
    {
        if ((ulong)value.Ticks > MaxTicks && !(allowInfinite && value == Timeout.InfiniteTimeSpan))
        {
            ThrowDue(value, allowInfinite, paramName);
        }
    }

    /// <summary>A period of a repeating timer: at least one millisecond (system timers truncate to whole
    /// milliseconds, so a shorter period would become 0: a one-shot timer, or a hot loop) and finite.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Period(TimeSpan value, string paramName)
    {
        if ((ulong)(value.Ticks - TimeSpan.TicksPerMillisecond) > MaxTicks - TimeSpan.TicksPerMillisecond)
        {
            ThrowPeriod(value, paramName);
        }
    }

    /// <summary>The period of <see cref="Timers.ScopedTimer.Change"/>: zero or infinite (one-shot), or a period.</summary>
    public static void ChangePeriod(TimeSpan value, string paramName)
    {
        if (value != TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
        {
            Period(value, paramName);
        }
    }

    [DoesNotReturn]
    private static void ThrowDue(TimeSpan value, bool allowInfinite, string paramName) =>
        throw new ArgumentOutOfRangeException(paramName, value,
            allowInfinite
                ? "Must be zero or positive (at most about 49.7 days), or Timeout.InfiniteTimeSpan."
                : "Must be zero or positive (at most about 49.7 days).");

    [DoesNotReturn]
    private static void ThrowPeriod(TimeSpan value, string paramName) =>
        throw new ArgumentOutOfRangeException(paramName, value, "Must be at least 1 millisecond (at most about 49.7 days).");

    // The runtime's default (empty) context, captured once on a thread-pool thread, where work items queued without
    // flow start with it. Capturing it holds nothing, so a timer created under it needs no flow suppression.
    private static ExecutionContext? _emptyContext;
    private static int _emptyContextRequested;

    /// <summary>Arms a one-shot timer with <see cref="Create"/> unless <paramref name="due"/> is infinite, catching what
    /// the clock (user code) throws: the caller ends its item first, then rethrows the returned failure.</summary>
    public static Exception? TryArmOnce(TimeProvider timeProvider, TimerCallback callback, object state, TimeSpan due, out ITimer? timer)
    {
        timer = null;
        if (due == Timeout.InfiniteTimeSpan)
        {
            return null;
        }

        try
        {
            timer = Create(timeProvider, callback, state, due, Timeout.InfiniteTimeSpan);
            return null;
        }
#pragma warning disable CA1031 // The clock is user code: the caller ends its item and rethrows to its own caller.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return ex;
        }
    }

    /// <summary>Creates a timer without capturing the caller's <see cref="ExecutionContext"/> (no AsyncLocal values
    /// are kept alive by the timer or visible to its callback).</summary>
    public static ITimer Create(TimeProvider timeProvider, TimerCallback callback, object state, TimeSpan due, TimeSpan period)
    {
        var current = ExecutionContext.Capture();
        if (current is null || ReferenceEquals(current, Volatile.Read(ref _emptyContext)))
        {
            // Flow is suppressed, or the context is the empty default one: nothing to capture.
            return timeProvider.CreateTimer(callback, state, due, period);
        }

        if (Volatile.Read(ref _emptyContextRequested) == 0 && Interlocked.Exchange(ref _emptyContextRequested, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static _ => Volatile.Write(ref _emptyContext, ExecutionContext.Capture()), null);
        }

        using (ExecutionContext.SuppressFlow())
        {
            return timeProvider.CreateTimer(callback, state, due, period);
        }
    }
}
