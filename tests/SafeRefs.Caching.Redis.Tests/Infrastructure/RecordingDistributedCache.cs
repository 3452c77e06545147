using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Distributed;

namespace SafeRefs.Caching.Redis.Tests.Infrastructure;

/// <summary>An in-memory <see cref="IDistributedCache"/> that counts which of its methods were called.</summary>
internal class RecordingDistributedCache : IDistributedCache
{
    private readonly ConcurrentDictionary<string, byte[]> _values = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);

    public int Calls(string method) => _calls.TryGetValue(method, out var count) ? count : 0;

    public bool Contains(string key) => _values.ContainsKey(key);

    public byte[]? Get(string key) => Record("Get", () => _values.TryGetValue(key, out var value) ? value : null);

    public Task<byte[]?> GetAsync(string key, CancellationToken token = default) => Task.FromResult(Record("GetAsync", () => _values.TryGetValue(key, out var value) ? value : null));

    public void Refresh(string key) => Record("Refresh", () => 0);

    public Task RefreshAsync(string key, CancellationToken token = default) => Task.FromResult(Record("RefreshAsync", () => 0));

    public void Remove(string key) => Record("Remove", () => _values.TryRemove(key, out _));

    public Task RemoveAsync(string key, CancellationToken token = default) => Task.FromResult(Record("RemoveAsync", () => _values.TryRemove(key, out _)));

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => Record("Set", () => _values[key] = value);

    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
        => Task.FromResult(Record("SetAsync", () => _values[key] = value));

    protected T Record<T>(string method, Func<T> call)
    {
        _calls.AddOrUpdate(method, 1, static (_, count) => count + 1);
        return call();
    }

    protected bool TryRead(string key, IBufferWriter<byte> destination)
    {
        if (!_values.TryGetValue(key, out var value))
        {
            return false;
        }

        destination.Write(value);
        return true;
    }

    protected void Store(string key, ReadOnlySequence<byte> value) => _values[key] = value.ToArray();
}
