using Microsoft.Extensions.Logging;

namespace SafeRefs.Diagnostics.Internal;

internal static partial class Log
{
    [LoggerMessage(EventId = 1500, EventName = "InstrumentPublishFailed", Level = LogLevel.Error,
        Message = "A MeterListener threw while SafeRefs published instrument {InstrumentName}; it records nothing on this meter, and SafeRefs goes on.")]
    internal static partial void InstrumentPublishFailed(ILogger logger, Exception exception, string instrumentName);
}
