using System.Runtime.InteropServices;

namespace SafeRefs.Caching.Internal;

/// <summary>
/// The counters a bounded cache's write path updates under its lock, padded onto their own cache line so that
/// writes never invalidate the line holding the fields every lock-free read uses (the map, the disposed flag, …).
/// A mutable struct stored in a field and accessed by reference; written under the cache's lock, read with
/// volatile loads from anywhere (each counter is exact; they are not one atomic snapshot).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 192)]
internal struct CacheWriteCounters
{
#pragma warning disable IDE1006 // public fields of an internal padding struct, updated by reference
    [FieldOffset(64)]
    public int Count;

    [FieldOffset(72)]
    public long Weight;
#pragma warning restore IDE1006

    [FieldOffset(80)]
    private long _capacityEvictions;

    [FieldOffset(88)]
    private long _weightEvictions;

    [FieldOffset(96)]
    private long _expiredEvictions;

    /// <summary>Gets the evictions for every reason.</summary>
    public readonly long Evictions
        => EvictionsFor(CacheEvictionReason.Capacity) + EvictionsFor(CacheEvictionReason.Weight) + EvictionsFor(CacheEvictionReason.Expired);

    /// <summary>Counts one eviction (<see cref="CacheEvictionReason.Capacity"/>, <see cref="CacheEvictionReason.Weight"/>
    /// or <see cref="CacheEvictionReason.Expired"/>). Caller holds the cache's write lock.</summary>
    public void CountEviction(CacheEvictionReason reason)
    {
        switch (reason)
        {
            case CacheEvictionReason.Capacity:
                Volatile.Write(ref _capacityEvictions, _capacityEvictions + 1);
                break;
            case CacheEvictionReason.Weight:
                Volatile.Write(ref _weightEvictions, _weightEvictions + 1);
                break;
            default:
                Volatile.Write(ref _expiredEvictions, _expiredEvictions + 1);
                break;
        }
    }

    /// <summary>Gets the evictions for one reason (0 for reasons that are not evictions).</summary>
    public readonly long EvictionsFor(CacheEvictionReason reason) => reason switch
    {
        CacheEvictionReason.Capacity => Volatile.Read(in _capacityEvictions),
        CacheEvictionReason.Weight => Volatile.Read(in _weightEvictions),
        CacheEvictionReason.Expired => Volatile.Read(in _expiredEvictions),
        _ => 0,
    };
}
