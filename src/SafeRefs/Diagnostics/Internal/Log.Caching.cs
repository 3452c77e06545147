using Microsoft.Extensions.Logging;

namespace SafeRefs.Diagnostics.Internal;

/// <content>Caching messages (event ids 1400–1499).</content>
internal static partial class Log
{
    [LoggerMessage(EventId = 1400, Level = LogLevel.Error, Message = "A cache eviction handler threw for an entry removed because of {Reason}.")]
    internal static partial void CacheEvictionHandlerFailed(ILogger logger, Exception exception, string reason);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Error, Message = "Disposing a value that left the cache ({Reason}) threw.")]
    internal static partial void CacheValueDisposeFailed(ILogger logger, Exception exception, string reason);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Error, Message = "A post-eviction callback of a bounded memory cache threw for an entry removed because of {Reason}.")]
    internal static partial void CachePostEvictionCallbackFailed(ILogger logger, Exception exception, string reason);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Error, Message = "The expiry sweep of a bounded cache failed.")]
    internal static partial void CacheSweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Warning, Message = "An entry of size {Size} exceeds the bounded memory cache's size limit {SizeLimit} and was not stored.")]
    internal static partial void CacheEntryTooLarge(ILogger logger, long size, long sizeLimit);

    [LoggerMessage(EventId = 1405, Level = LogLevel.Warning, Message = "A bounded memory cache full of NeverRemove entries evicted one to stay within its bound; raise its capacity or size limit.")]
    internal static partial void CacheNeverRemoveEntryEvicted(ILogger logger);

    [LoggerMessage(EventId = 1406, Level = LogLevel.Error, Message = "Disposing an expiration token's change-callback registration of a bounded memory cache entry threw.")]
    internal static partial void CacheTokenRegistrationDisposeFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1407, Level = LogLevel.Error, Message = "A cache update handler threw.")]
    internal static partial void CacheUpdateHandlerFailed(ILogger logger, Exception exception);
}
