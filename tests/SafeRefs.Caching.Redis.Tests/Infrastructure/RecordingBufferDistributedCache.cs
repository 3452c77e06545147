using System.Buffers;
using Microsoft.Extensions.Caching.Distributed;

namespace SafeRefs.Caching.Redis.Tests.Infrastructure;

/// <summary>A <see cref="RecordingDistributedCache"/> that also offers <see cref="IBufferDistributedCache"/>, as RedisCache does.</summary>
internal sealed class RecordingBufferDistributedCache : RecordingDistributedCache, IBufferDistributedCache
{
    public bool TryGet(string key, IBufferWriter<byte> destination) => Record("TryGet", () => TryRead(key, destination));

    public ValueTask<bool> TryGetAsync(string key, IBufferWriter<byte> destination, CancellationToken token = default)
        => ValueTask.FromResult(Record("TryGetAsync", () => TryRead(key, destination)));

    public void Set(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options) => Record("Set(sequence)", () => { Store(key, value); return 0; });

    public ValueTask SetAsync(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        Record("SetAsync(sequence)", () => { Store(key, value); return 0; });
        return ValueTask.CompletedTask;
    }
}
