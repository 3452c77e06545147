using Microsoft.Extensions.Logging;

namespace SafeRefs.Diagnostics.Internal;

internal static partial class Log
{
    [LoggerMessage(EventId = 1000, EventName = "ListenerLeakSuspected", Level = LogLevel.Warning,
        Message = "Possible listener leak: {Count} listeners on {SourceType}.{EventName}, above the limit of {MaxListeners}. Dispose subscriptions you no longer need, or raise MaxListeners.")]
    internal static partial void ListenerLeakSuspected(ILogger logger, string sourceType, string eventName, int count, int maxListeners);

    [LoggerMessage(EventId = 1001, EventName = "ListenerRefused", Level = LogLevel.Error,
        Message = "Refused a listener that would make {Count} listeners on {SourceType}.{EventName}: the limit is {MaxListeners} (possible listener leak).")]
    internal static partial void ListenerRefused(ILogger logger, string sourceType, string eventName, int count, int maxListeners);

    [LoggerMessage(EventId = 1002, EventName = "ExceededHandlerFailed", Level = LogLevel.Error,
        Message = "A ListenerBudget.Exceeded handler threw for {SourceType}.{EventName}.")]
    internal static partial void ExceededHandlerFailed(ILogger logger, Exception exception, string sourceType, string eventName);

    [LoggerMessage(EventId = 1003, EventName = "ListenerReportFailed", Level = LogLevel.Error,
        Message = "Reporting a listener budget's limit for {SourceType}.{EventName} failed (a logger or a metric listener threw); the subscription went on.")]
    internal static partial void ListenerReportFailed(ILogger logger, Exception exception, string sourceType, string eventName);

    [LoggerMessage(EventId = 1004, EventName = "SubscriptionBagDisposeFailed", Level = LogLevel.Error,
        Message = "{FailureCount} item(s) of a subscription bag threw while it was disposed because its lifetime token was cancelled; every item was still disposed.")]
    internal static partial void SubscriptionBagDisposeFailed(ILogger logger, Exception exception, int failureCount);
}
