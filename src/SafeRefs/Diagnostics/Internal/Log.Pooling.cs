using Microsoft.Extensions.Logging;

namespace SafeRefs.Diagnostics.Internal;

internal static partial class Log
{
    [LoggerMessage(EventId = 1300, EventName = "LeaseListenerLeakSuspected", Level = LogLevel.Warning,
        Message = "Possible listener leak: one lease attached {Count} listeners to {SourceType}.{EventName}, above the limit of {MaxListeners}.")]
    internal static partial void LeaseListenerLeakSuspected(ILogger logger, string sourceType, string eventName, int count, int maxListeners);

    [LoggerMessage(EventId = 1301, EventName = "LeaseAttachedBehind", Level = LogLevel.Warning,
        Message = "Possible listener leak: a pooled {SourceType} came back with {CountAtReturn} listeners, {CountAtRent} when rented; something attached behind its lease. Discarded: {Discarded}.")]
    internal static partial void LeaseAttachedBehind(ILogger logger, string sourceType, int countAtRent, int countAtReturn, bool discarded);

    [LoggerMessage(EventId = 1302, EventName = "LeaseDetachFailed", Level = LogLevel.Error,
        Message = "Detaching a tracked listener of a pooled {SourceType} failed; the object is discarded.")]
    internal static partial void LeaseDetachFailed(ILogger logger, Exception exception, string sourceType);

    [LoggerMessage(EventId = 1303, EventName = "LeaseExceededHandlerFailed", Level = LogLevel.Error,
        Message = "A handler of a guarded pool's {EventName} event threw.")]
    internal static partial void PoolEventHandlerFailed(ILogger logger, Exception exception, string eventName);

    [LoggerMessage(EventId = 1304, EventName = "LeaseReturnFailed", Level = LogLevel.Error,
        Message = "Returning a pooled {SourceType} failed after the last callback of its ended lease returned.")]
    internal static partial void LeaseReturnFailed(ILogger logger, Exception exception, string sourceType);
}
