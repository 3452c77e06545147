using System.Numerics;

namespace SafeRefs.Caching.Internal;

/// <summary>
/// Approximate, fading access counts of key hashes (a count-min sketch), used to decide whether a new key is worth more
/// than the entry it would push out. A hash maps to one block of four 64-bit words and to one 4-bit counter in each
/// word; its estimate is the smallest of the four (collisions can only raise it). An addition raises only the counters
/// at that minimum (conservative update), up to <see cref="MaxCount"/>. Keeps no key or value alive. Not thread-safe
/// (used under the cache's write lock).
/// </summary>
/// <remarks>
/// <para>Aging: every counter is halved once per period of <see cref="SamplesPerEntry"/> additions per resident entry,
/// so past popularity fades. The halving is lazy: the end of a period only advances an epoch number, and a block is
/// halved (once per elapsed epoch) when it is next touched, so no call ever walks the table.</para>
/// <para>Size: about one block (32 bytes) per two resident entries, rounded up to a power of two, so the sketch follows
/// the entry count, not the capacity. Growing copies each block into every position its hashes can map to at the new
/// size, so estimates survive; like the index's growth, that copy is amortised O(1) per addition.</para>
/// </remarks>
internal sealed class FrequencySketch
{
    /// <summary>The largest count a counter holds.</summary>
    public const int MaxCount = 15;

    /// <summary>Additions per resident entry after which every counter has been halved once.</summary>
    public const int SamplesPerEntry = 20;

    private const int MinBlocks = 8;
    private const int MinEntries = 16;

    // Keeps, in each 4-bit counter, the bits that survive a right shift by the index (1, 2 or 3).
    private static readonly ulong[] ShiftMasks = [ulong.MaxValue, 0x7777777777777777UL, 0x3333333333333333UL, 0x1111111111111111UL];

    private ulong[] _words = [];    // four per block
    private ushort[] _blockEpochs = []; // the epoch each block's counters were last aged to
    private int _mask;
    private ushort _epoch;
    private long _samples;

    public FrequencySketch() => Allocate(MinBlocks);

    /// <summary>Gets the bytes the sketch's arrays occupy (for tests and the footprint report).</summary>
    public long Bytes => ((long)_words.Length * sizeof(ulong)) + ((long)_blockEpochs.Length * sizeof(ushort));

    /// <summary>Estimates how often <paramref name="hash"/> was added lately (never below the truth, before aging).</summary>
    public int Estimate(int hash)
    {
        var spread = KeyHashSpread.Spread(hash);
        var block = Block(spread) * 4;
        var min = MaxCount;
        for (var row = 0; row < 4; row++)
        {
            min = Math.Min(min, Counter(_words[block + row], spread, row));
        }

        return min;
    }

    /// <summary>Counts <paramref name="amount"/> accesses of <paramref name="hash"/>.</summary>
    /// <param name="hash">The key's hash.</param>
    /// <param name="amount">How many accesses (1 for a write; a node's pending hits when they are folded in).</param>
    /// <param name="residentCount">How many entries the cache holds: sizes the table and the aging period.</param>
    public void Add(int hash, int amount, int residentCount)
    {
        if ((long)residentCount > 2L * (_mask + 1))
        {
            Grow(residentCount);
        }

        var spread = KeyHashSpread.Spread(hash);
        var block = Block(spread) * 4;
        var min = MaxCount;
        for (var row = 0; row < 4; row++)
        {
            min = Math.Min(min, Counter(_words[block + row], spread, row));
        }

        var target = Math.Min(MaxCount, min + amount);
        for (var row = 0; row < 4; row++)
        {
            var shift = NibbleShift(spread, row);
            ref var word = ref _words[block + row];
            if ((int)((word >> shift) & 0xF) < target)
            {
                word = (word & ~(0xFUL << shift)) | ((ulong)target << shift);
            }
        }

        _samples += amount;
        if (_samples >= SamplesPerEntry * (long)Math.Max(MinEntries, residentCount))
        {
            _samples = 0;
            _epoch++;
        }
    }

    /// <summary>Forgets everything and shrinks back to the smallest size.</summary>
    public void Clear()
    {
        Allocate(MinBlocks);
        _epoch = 0;
        _samples = 0;
    }

    // Of a spread hash, the high half picks the block and the low 16 bits the counters in it.
    private static int NibbleShift(ulong spread, int row) => (int)((spread >> (row * 4)) & 0xF) * 4;

    private static int Counter(ulong word, ulong spread, int row) => (int)((word >> NibbleShift(spread, row)) & 0xF);

    /// <summary>Returns the block of <paramref name="spread"/>, first halving its counters once per epoch it missed.</summary>
    private int Block(ulong spread)
    {
        var block = (int)(spread >> 32) & _mask;
        var age = (ushort)(_epoch - _blockEpochs[block]);
        if (age != 0)
        {
            for (var row = 0; row < 4; row++)
            {
                ref var word = ref _words[(block * 4) + row];
                word = age >= 4 ? 0 : (word >> age) & ShiftMasks[age];
            }

            _blockEpochs[block] = _epoch;
        }

        return block;
    }

    private void Allocate(int blocks)
    {
        _words = new ulong[blocks * 4];
        _blockEpochs = new ushort[blocks];
        _mask = blocks - 1;
    }

    private void Grow(int residentCount)
    {
        var blocks = (int)Math.Min(1 << 28, BitOperations.RoundUpToPowerOf2((uint)Math.Max(MinBlocks, residentCount / 2)));
        var old = _mask + 1;
        if (blocks <= old)
        {
            return;
        }

        var words = _words;
        var epochs = _blockEpochs;
        Allocate(blocks);

        // A hash's block is (high half & mask): at the new size it is its old block plus a multiple of the old size.
        for (var start = 0; start < blocks; start += old)
        {
            Array.Copy(words, 0, _words, start * 4, old * 4);
            Array.Copy(epochs, 0, _blockEpochs, start, old);
        }
    }
}
