using SafeRefs.Diagnostics;
using SafeRefs.Diagnostics.Internal;

namespace SafeRefs.Timers;

/// <content>Where a failed callback, loop body or <see cref="Error"/> handler goes: never out of the timer thread.</content>
public sealed partial class TimerScope
{
    /// <summary>
    /// Logs, counts and reports a failed callback or loop body of <paramref name="scope"/> (or of a scope already
    /// collected, when <paramref name="scope"/> is <see langword="null"/>), or with <paramref name="clock"/> a failure
    /// of the scope's <see cref="System.TimeProvider"/> that no caller could receive; never throws, so a user callback's
    /// exception never becomes an unhandled exception.
    /// </summary>
    internal static void ReportFailure(TimerScope? scope, Exception exception, ScopedTimer? timer, ScopedLoop? loop, bool clock = false)
    {
        var logger = scope?.Logger ?? SafeRefsLog.Logger;
        try
        {
            // Counted first: a logger that throws must not skip the count.
            (scope?._metrics ?? Metrics.Shared).Timers.CallbackFailed(scope?._name, clock ? "clock" : loop is null ? "timer" : "loop");
            if (clock)
            {
                Log.TimerClockFailed(logger, exception);
            }
            else if (loop is null)
            {
                Log.TimerCallbackFailed(logger, exception);
            }
            else
            {
                Log.TimerLoopBodyFailed(logger, exception);
            }
        }
#pragma warning disable CA1031 // A logger or metric listener is user code too: reporting must not end the process.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        for (var current = scope; current is not null; current = current._parent)
        {
            if (current.Error is { } handler)
            {
                try
                {
                    handler(current, new TimerErrorEventArgs(exception, timer, loop));
                }
#pragma warning disable CA1031 // A throwing Error handler is logged, never propagated to the timer thread.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    ReportHandlerFailed(current, ex);
                }

                return;
            }
        }
    }

    /// <summary>Reports what ending an item got back where nobody asked for the end (a timer thread, the scope's
    /// <c>lifetime</c> token): the clock's failure as the clock's (1204), each token callback's on its own; never throws.</summary>
    internal static void ReportEndFailures(TimerScope? scope, Exception? clockFailure, IReadOnlyList<Exception>? callbackFailures, ScopedTimer? timer, ScopedLoop? loop)
    {
        if (clockFailure is not null)
        {
            ReportFailure(scope, clockFailure, timer, loop, clock: true);
        }

        foreach (var failure in callbackFailures ?? [])
        {
            ReportFailure(scope, failure, timer, loop);
        }
    }

    /// <summary>Throws what ending an item got back to whoever ended it, as <see cref="CancellationTokenSource.Cancel()"/>
    /// does once everything is stopped: one <see cref="AggregateException"/>, the clock's failure first.</summary>
    internal static void ThrowEndFailures(Exception? clockFailure, IReadOnlyList<Exception>? callbackFailures)
    {
        if (clockFailure is not null || callbackFailures is not null)
        {
            IEnumerable<Exception> failures = callbackFailures ?? [];
            throw new AggregateException(clockFailure is null ? failures : failures.Prepend(clockFailure));
        }
    }

    /// <summary>Counts (kind <c>error handler</c>) and logs an <see cref="Error"/> handler of <paramref name="scope"/> that threw; never throws.</summary>
    private static void ReportHandlerFailed(TimerScope scope, Exception exception)
    {
        try
        {
            scope._metrics.Timers.CallbackFailed(scope._name, "error handler");
            Log.TimerErrorHandlerFailed(scope.Logger ?? SafeRefsLog.Logger, exception);
        }
#pragma warning disable CA1031 // A logger or metric listener is user code too.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}
