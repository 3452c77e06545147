namespace SafeRefs.Caching.Internal;

/// <summary>
/// Remembers (approximately) the hashes of keys recently evicted from probation, in two rotating bit sets of about
/// 32 bits per remembered key (three probes). Keeps no key or value alive. Not thread-safe (used under the cache's write lock).
/// </summary>
internal sealed class GhostFilter
{
    private readonly int _generationSize;
    private readonly int _mask;
    private ulong[] _current;
    private ulong[] _previous;
    private int _added;

    public GhostFilter(int capacity)
    {
        _generationSize = Math.Max(1, capacity / 2);
        var bits = (int)Math.Min(1L << 30, Math.Max(64, (long)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)_generationSize) * 32));
        _mask = bits - 1;
        _current = new ulong[bits / 64];
        _previous = new ulong[bits / 64];
    }

    public void Add(int hash)
    {
        var (a, b, c) = Positions(hash);
        _current[a >> 6] |= 1UL << a;
        _current[b >> 6] |= 1UL << b;
        _current[c >> 6] |= 1UL << c;
        if (++_added >= _generationSize)
        {
            (_current, _previous) = (_previous, _current);
            Array.Clear(_current);
            _added = 0;
        }
    }

    public bool Contains(int hash)
    {
        var (a, b, c) = Positions(hash);
        return (Test(_current, a) && Test(_current, b) && Test(_current, c))
            || (Test(_previous, a) && Test(_previous, b) && Test(_previous, c));
    }

    public void Clear()
    {
        Array.Clear(_current);
        Array.Clear(_previous);
        _added = 0;
    }

    private static bool Test(ulong[] bits, int position) => (bits[position >> 6] & (1UL << position)) != 0;

    private (int A, int B, int C) Positions(int hash)
    {
        // murmur3 finaliser, then three probes from one 64-bit product (Kirsch–Mitzenmacher double hashing).
        var h = (uint)hash;
        h ^= h >> 16;
        h *= 0x85EBCA6Bu;
        h ^= h >> 13;
        h *= 0xC2B2AE35u;
        h ^= h >> 16;
        var wide = h * 0x9E3779B97F4A7C15UL;
        var h1 = (int)(wide >> 32);
        var h2 = (int)wide | 1;
        return (h1 & _mask, (h1 + h2) & _mask, (h1 + (2 * h2)) & _mask);
    }
}
