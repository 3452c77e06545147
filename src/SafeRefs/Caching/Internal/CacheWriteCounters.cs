using System.Runtime.InteropServices;

namespace SafeRefs.Caching.Internal;

/// <summary>
/// The counters a bounded cache's write path updates under its lock, padded onto their own cache line so that
/// writes never invalidate the line holding the fields every lock-free read uses (the map, the disposed flag, …).
/// A mutable struct stored in a field and accessed by reference; not thread-safe by itself.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 192)]
internal struct CacheWriteCounters
{
#pragma warning disable IDE1006 // public fields of an internal padding struct, updated by reference
    [FieldOffset(64)]
    public int Count;

    [FieldOffset(72)]
    public long Weight;

    [FieldOffset(80)]
    public long Evictions;
#pragma warning restore IDE1006
}
