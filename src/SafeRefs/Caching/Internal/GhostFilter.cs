using System.Numerics;

namespace SafeRefs.Caching.Internal;

/// <summary>
/// Remembers (approximately) the hashes of the latest keys a cache policy pushed out, in two rotating bit sets of about
/// 32 bits per remembered key (three probes). Keeps no key or value alive. Not thread-safe (used under the cache's
/// write lock).
/// </summary>
/// <remarks>
/// A generation holds half of the number of keys the caller asks to remember <em>now</em> (see <see cref="Add"/>), so
/// the filter follows what the policy needs, never the capacity up front. Every add costs O(1): the bit set that the
/// next rotation reuses is cleared a few words per add, never all at once under the lock; an array is allocated only
/// when the requested size moved the generation size to another power of two (amortised O(1) per add).
/// </remarks>
internal sealed class GhostFilter
{
    private const int MinGeneration = 16;
    private const int MaxWords = 1 << 24; // 2^30 bits

    private readonly int _maxGeneration;
    private ulong[] _current;
    private ulong[] _previous;
    private ulong[]? _spare;     // the old previous generation, cleared incrementally for reuse
    private int _spareCleared;   // words of _spare cleared so far
    private int _generationSize; // adds before the next rotation
    private int _added;

    /// <summary>Creates an empty filter.</summary>
    /// <param name="maxRemembered">The most keys it is ever asked to remember (bounds a generation at half of it).</param>
    public GhostFilter(int maxRemembered)
    {
        _maxGeneration = Math.Max(1, maxRemembered / 2);
        _generationSize = Math.Min(MinGeneration, _maxGeneration);
        _current = new ulong[Words(_generationSize)];
        _previous = [];
    }

    /// <summary>Gets the bytes the filter's bit sets occupy (for tests and the footprint report).</summary>
    public long Bytes => ((long)_current.Length + _previous.Length + (_spare?.Length ?? 0)) * sizeof(ulong);

    /// <summary>Remembers <paramref name="hash"/>.</summary>
    /// <param name="hash">The evicted key's hash.</param>
    /// <param name="remembered">About how many of the latest keys to remember: sizes the next generation (half of it).</param>
    public void Add(int hash, int remembered)
    {
        Set(_current, hash);
        if (_spare is { } spare && _spareCleared < spare.Length)
        {
            // Enough words per add that the spare is clean when this generation is full.
            var chunk = Math.Min(spare.Length - _spareCleared, (spare.Length / _generationSize) + 1);
            Array.Clear(spare, _spareCleared, chunk);
            _spareCleared += chunk;
        }

        if (++_added >= _generationSize)
        {
            Rotate(remembered);
        }
    }

    public bool Contains(int hash) => Test(_current, hash) || Test(_previous, hash);

    /// <summary>Forgets everything and shrinks back to the smallest size.</summary>
    public void Clear()
    {
        _generationSize = Math.Min(MinGeneration, _maxGeneration);
        _current = new ulong[Words(_generationSize)];
        _previous = [];
        _spare = null;
        _spareCleared = 0;
        _added = 0;
    }

    private static int Words(int generation)
        => (int)Math.Min(MaxWords, Math.Max(1L, (long)BitOperations.RoundUpToPowerOf2((uint)generation) / 2));

    private static void Set(ulong[] bits, int hash)
    {
        var (a, b, c) = Positions(hash, (bits.Length * 64) - 1);
        bits[a >> 6] |= 1UL << a;
        bits[b >> 6] |= 1UL << b;
        bits[c >> 6] |= 1UL << c;
    }

    private static bool Test(ulong[] bits, int hash)
    {
        if (bits.Length == 0)
        {
            return false;
        }

        var (a, b, c) = Positions(hash, (bits.Length * 64) - 1);
        return (bits[a >> 6] & (1UL << a)) != 0 && (bits[b >> 6] & (1UL << b)) != 0 && (bits[c >> 6] & (1UL << c)) != 0;
    }

    private static (int A, int B, int C) Positions(int hash, int mask)
    {
        // Three probes from one spread hash (Kirsch–Mitzenmacher double hashing).
        var wide = KeyHashSpread.Spread(hash);
        var h1 = (int)(wide >> 32);
        var h2 = (int)wide | 1;
        return (h1 & mask, (h1 + h2) & mask, (h1 + (2 * h2)) & mask);
    }

    private void Rotate(int remembered)
    {
        var next = Math.Clamp(remembered / 2, Math.Min(MinGeneration, _maxGeneration), _maxGeneration);
        var words = Words(next);
        ulong[] fresh;
        if (_spare is { } spare && spare.Length == words && _spareCleared == spare.Length)
        {
            fresh = spare;
        }
        else
        {
            fresh = new ulong[words]; // the size changed (or the spare is not clean yet): rare, amortised
        }

        // The generation that leaves becomes the spare if the next rotation is likely to want its size.
        _spare = _previous.Length == words ? _previous : null;
        _spareCleared = 0;
        _previous = _current;
        _current = fresh;
        _generationSize = next;
        _added = 0;
    }
}
