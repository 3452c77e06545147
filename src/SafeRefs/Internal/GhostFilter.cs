namespace SafeRefs.Internal;

/// <summary>
/// Remembers (approximately) the hashes of keys recently evicted from probation, in two rotating bit sets of about
/// 16 bits per remembered key. Keeps no key or value alive. Not thread-safe (used under the cache's write lock).
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
        var bits = (int)Math.Min(1L << 30, Math.Max(64, (long)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)_generationSize) * 16));
        _mask = bits - 1;
        _current = new ulong[bits / 64];
        _previous = new ulong[bits / 64];
    }

    public void Add(int hash)
    {
        var (a, b) = Positions(hash);
        _current[a >> 6] |= 1UL << a;
        _current[b >> 6] |= 1UL << b;
        if (++_added >= _generationSize)
        {
            (_current, _previous) = (_previous, _current);
            Array.Clear(_current);
            _added = 0;
        }
    }

    public bool Contains(int hash)
    {
        var (a, b) = Positions(hash);
        return (Test(_current, a) && Test(_current, b)) || (Test(_previous, a) && Test(_previous, b));
    }

    public void Clear()
    {
        Array.Clear(_current);
        Array.Clear(_previous);
        _added = 0;
    }

    private static bool Test(ulong[] bits, int position) => (bits[position >> 6] & (1UL << position)) != 0;

    private (int A, int B) Positions(int hash)
    {
        var h = (uint)hash * 0x9E3779B1u;
        var a = (int)(h ^ (h >> 15)) & _mask;
        var h2 = ((uint)hash ^ 0x85EBCA6Bu) * 0xC2B2AE35u;
        var b = (int)(h2 ^ (h2 >> 13)) & _mask;
        return (a, b);
    }
}
