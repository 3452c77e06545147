using Microsoft.Extensions.Logging;

namespace SafeRefs.Diagnostics.Internal;

internal static partial class Log
{
    [LoggerMessage(EventId = 1200, EventName = "TimerCallbackFailed", Level = LogLevel.Error,
        Message = "A timer callback, or a callback registered on a timer's or a timer scope's token, failed; a timer whose callback fails keeps its schedule.")]
    internal static partial void TimerCallbackFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1201, EventName = "TimerLoopBodyFailed", Level = LogLevel.Error,
        Message = "A timer loop body, or a callback registered on a loop's token, failed; a loop whose body fails continues with the next interval.")]
    internal static partial void TimerLoopBodyFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1202, EventName = "TimerScopeCancellationFailed", Level = LogLevel.Error,
        Message = "A cancellation callback registered on a timer scope token failed while the scope was disposed.")]
    internal static partial void TimerScopeCancellationFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1203, EventName = "TimerErrorHandlerFailed", Level = LogLevel.Error,
        Message = "A handler of a timer scope's Error event threw; the failure it reported was logged before it.")]
    internal static partial void TimerErrorHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1204, EventName = "TimerClockFailed", Level = LogLevel.Error,
        Message = "A timer scope's TimeProvider threw (a timer's Change or Dispose) where no caller could receive it; the timer, loop, delay or timeout involved has ended.")]
    internal static partial void TimerClockFailed(ILogger logger, Exception exception);
}
