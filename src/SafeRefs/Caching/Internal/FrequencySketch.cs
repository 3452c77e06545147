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
/// the entry count, not the capacity. It doubles when half the entries outnumber its blocks, and every estimate
/// survives: a hash's block at the new size is its old block or that one plus the old size, and both start as copies
/// of the old block. The copies are made a few blocks per call (<see cref="BlocksPerAdd"/> by each
/// <see cref="Add"/>, and the block a call touches, first), never all at once, so every call does bounded work;
/// the estimates are the same as if the whole table had been copied when it doubled.</para>
/// </remarks>
internal sealed class FrequencySketch
{
    /// <summary>The largest count a counter holds.</summary>
    public const int MaxCount = 15;

    /// <summary>Additions per resident entry after which every counter has been halved once.</summary>
    public const int SamplesPerEntry = 20;

    /// <summary>The most old blocks one <see cref="Add"/> copies in order (besides the one it touches). The sketch
    /// doubles from b to 2b blocks when the entries outnumber 2b, and cannot double again before they outnumber 4b:
    /// at least 2b additions, while the copy needs at most b / 2.</summary>
    public const int BlocksPerAdd = 2;

    private const int MinBlocks = 8;
    private const int MaxBlocks = 1 << 28;
    private const int MinEntries = 16;

    // Epochs use 15 bits; the top bit of an old block's epoch says that block was copied to the new arrays.
    private const int EpochMask = 0x7FFF;
    private const ushort Copied = 0x8000;

    // Keeps, in each 4-bit counter, the bits that survive a right shift by the index (1, 2 or 3).
    private static readonly ulong[] ShiftMasks = [ulong.MaxValue, 0x7777777777777777UL, 0x3333333333333333UL, 0x1111111111111111UL];

    private ulong[] _words = [];    // four per block
    private ushort[] _blockEpochs = []; // the epoch each block's counters were last aged to
    private int _mask;
    private ulong[]? _oldWords;     // while doubling: the arrays of half the size, copied block by block
    private ushort[]? _oldEpochs;
    private int _oldCopied;         // old blocks below this index were copied
    private ushort _epoch;
    private long _samples;

    public FrequencySketch() => Allocate(MinBlocks);

    /// <summary>Gets the bytes the sketch's arrays occupy (for tests and the footprint report).</summary>
    public long Bytes => (((long)_words.Length + (_oldWords?.Length ?? 0)) * sizeof(ulong))
        + (((long)_blockEpochs.Length + (_oldEpochs?.Length ?? 0)) * sizeof(ushort));

    /// <summary>Gets the blocks copied by growth so far, in all (for tests: the work growth did per call).</summary>
    public long BlocksCopied { get; private set; }

    /// <summary>Gets whether a doubling is still being copied (for tests).</summary>
    public bool IsGrowing => _oldWords is not null;

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
        if (_oldWords is not null)
        {
            CopySome();
        }
        else if (residentCount / 2 > _mask + 1 && _mask + 1 < MaxBlocks)
        {
            StartDoubling();
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
            _epoch = (ushort)((_epoch + 1) & EpochMask);
        }
    }

    /// <summary>Forgets everything and shrinks back to the smallest size.</summary>
    public void Clear()
    {
        Allocate(MinBlocks);
        _oldWords = null;
        _oldEpochs = null;
        _epoch = 0;
        _samples = 0;
    }

    // Of a spread hash, the high half picks the block and the low 16 bits the counters in it.
    private static int NibbleShift(ulong spread, int row) => (int)((spread >> (row * 4)) & 0xF) * 4;

    private static int Counter(ulong word, ulong spread, int row) => (int)((word >> NibbleShift(spread, row)) & 0xF);

    /// <summary>Returns the block of <paramref name="spread"/> (copied first if a doubling has not copied it yet),
    /// first halving its counters once per epoch it missed.</summary>
    private int Block(ulong spread)
    {
        var block = (int)(spread >> 32) & _mask;
        if (_oldWords is not null)
        {
            Copy(block & (_mask >> 1));
        }

        var age = (_epoch - _blockEpochs[block]) & EpochMask;
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

    /// <summary>Doubles the table: the current arrays become the old ones, copied later. O(1): the new arrays are not
    /// cleared, since every block is copied before it is read.</summary>
    private void StartDoubling()
    {
        var blocks = (_mask + 1) * 2;
        (_oldWords, _oldEpochs, _oldCopied) = (_words, _blockEpochs, 0);
        _words = GC.AllocateUninitializedArray<ulong>(blocks * 4);
        _blockEpochs = GC.AllocateUninitializedArray<ushort>(blocks);
        _mask = blocks - 1;
    }

    /// <summary>Copies (or passes, if already copied) the next <see cref="BlocksPerAdd"/> old blocks.</summary>
    private void CopySome()
    {
        var old = _oldEpochs!.Length;
        for (var i = 0; i < BlocksPerAdd && _oldCopied < old; i++)
        {
            Copy(_oldCopied++);
        }

        if (_oldCopied == old)
        {
            (_oldWords, _oldEpochs) = (null, null);
        }
    }

    /// <summary>Copies old block <paramref name="oldBlock"/> to both its places at the new size, unless it was copied.</summary>
    private void Copy(int oldBlock)
    {
        var epochs = _oldEpochs!;
        var epoch = epochs[oldBlock];
        if ((epoch & Copied) != 0)
        {
            return;
        }

        var words = _oldWords!;
        var twin = oldBlock + epochs.Length;
        for (var row = 0; row < 4; row++)
        {
            var word = words[(oldBlock * 4) + row];
            _words[(oldBlock * 4) + row] = word;
            _words[(twin * 4) + row] = word;
        }

        _blockEpochs[oldBlock] = epoch;
        _blockEpochs[twin] = epoch;
        epochs[oldBlock] = (ushort)(epoch | Copied);
        BlocksCopied++;
    }
}
