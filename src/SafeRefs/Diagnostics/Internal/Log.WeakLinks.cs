using Microsoft.Extensions.Logging;

namespace SafeRefs.Diagnostics.Internal;

internal static partial class Log
{
    [LoggerMessage(EventId = 1010, EventName = "WeakSubscriptionDetachFailed", Level = LogLevel.Error,
        Message = "Detaching a weak subscription from {SourceType}.{EventName} failed during a {Trigger}; {Outcome}.")]
    internal static partial void WeakSubscriptionDetachFailed(ILogger logger, Exception exception, string sourceType, string eventName, string trigger, string outcome);

    [LoggerMessage(EventId = 1100, EventName = "WeakEventSweepFailed", Level = LogLevel.Error,
        Message = "The gen-2 sweep of weak event {EventName} failed; the sweep went on with the next event.")]
    internal static partial void WeakEventSweepFailed(ILogger logger, Exception exception, string eventName);
}
