using Microsoft.Extensions.Logging;

namespace SafeRefs.Caching.Redis.Internal;

/// <summary>Source-generated log messages of the Redis invalidation channel (event ids 1480–1499).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1480, Level = LogLevel.Information, Message = "Cache invalidation channel {Channel} subscribed as instance {InstanceId}.")]
    internal static partial void Subscribed(ILogger logger, string channel, string instanceId);

    [LoggerMessage(EventId = 1481, Level = LogLevel.Warning, Message = "Could not publish a cache invalidation on {Channel}; other instances will clear their local cache when the channel is back.")]
    internal static partial void PublishFailed(ILogger logger, Exception? exception, string channel);

    [LoggerMessage(EventId = 1482, Level = LogLevel.Warning, Message = "The Redis {ConnectionType} connection of the cache invalidation channel failed ({FailureType}); the local cache keeps serving.")]
    internal static partial void ConnectionFailed(ILogger logger, Exception? exception, string connectionType, string failureType);

    [LoggerMessage(EventId = 1483, Level = LogLevel.Warning, Message = "The Redis {ConnectionType} connection of the cache invalidation channel is back; cleared {Count} local entries that may have missed invalidations.")]
    internal static partial void Resynchronized(ILogger logger, string connectionType, int count);

    [LoggerMessage(EventId = 1484, Level = LogLevel.Error, Message = "Applying a cache invalidation message ({Kind}) failed.")]
    internal static partial void ApplyFailed(ILogger logger, Exception exception, string kind);

    [LoggerMessage(EventId = 1485, Level = LogLevel.Warning, Message = "Ignored a malformed message on the cache invalidation channel {Channel}.")]
    internal static partial void MalformedMessage(ILogger logger, string channel);

    [LoggerMessage(EventId = 1486, Level = LogLevel.Warning, Message = "The cache invalidation channel {Channel} could not connect or subscribe; retrying.")]
    internal static partial void SubscribeFailed(ILogger logger, Exception? exception, string channel);

    [LoggerMessage(EventId = 1487, Level = LogLevel.Error, Message = "A connection event handler of the cache invalidation channel failed.")]
    internal static partial void ConnectionEventFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1488, Level = LogLevel.Information, Message = "Instance {InstanceId} missed publishing invalidations; asked the other instances to clear their local cache.")]
    internal static partial void ClearRequested(ILogger logger, string instanceId);

    [LoggerMessage(EventId = 1489, Level = LogLevel.Error, Message = "A MeterListener threw while the cache invalidation instrument {InstrumentName} was published; the channel goes on.")]
    internal static partial void InstrumentPublishFailed(ILogger logger, Exception exception, string instrumentName);
}
