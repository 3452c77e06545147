using System.Numerics;
using SafeRefs.Caching.Internal;

namespace SafeRefs.Tests.Caching.Internal;

public sealed class FrequencySketchTests
{
    [Fact]
    public void Add_CountsUpToTheMaximum_AndEstimatesNeverUnderCount()
    {
        var sketch = new FrequencySketch();
        for (var i = 0; i < 10; i++)
        {
            sketch.Add(42, 1, residentCount: 1_000);
        }

        Assert.Equal(10, sketch.Estimate(42));
        sketch.Add(42, 3, residentCount: 1_000);
        Assert.Equal(13, sketch.Estimate(42));
        sketch.Add(42, 10, residentCount: 1_000);
        Assert.Equal(FrequencySketch.MaxCount, sketch.Estimate(42));
        Assert.Equal(0, sketch.Estimate(43));
    }

    [Fact]
    public void Add_EveryPeriod_HalvesEveryCount()
    {
        var sketch = new FrequencySketch();
        const int resident = 100;
        sketch.Add(7, 12, resident);
        sketch.Add(8, 3, resident);

        // The rest of the period: other keys, each once.
        for (var i = 0; i < (FrequencySketch.SamplesPerEntry * resident) - 15; i++)
        {
            sketch.Add(1_000 + i, 1, resident);
        }

        Assert.Equal(6, sketch.Estimate(7));
        Assert.Equal(1, sketch.Estimate(8));
    }

    [Fact]
    public void Size_FollowsTheResidentCount_AndGrowthKeepsEstimates()
    {
        var sketch = new FrequencySketch();
        Assert.True(sketch.Bytes <= 512, $"{sketch.Bytes} bytes empty");
        sketch.Add(5, 9, residentCount: 10);
        sketch.Add(6, 4, residentCount: 10);

        // It doubles one step at a time, copying a few blocks per addition, until it fits about 16 bytes per entry.
        for (var i = 0; i < 1_000_000 && (sketch.Bytes < 100_000 * 16 || sketch.IsGrowing); i++)
        {
            sketch.Add(7, 1, residentCount: 100_000);
        }

        Assert.Equal(9, sketch.Estimate(5));
        Assert.Equal(4, sketch.Estimate(6));
        Assert.InRange(sketch.Bytes, 100_000 * 16, 100_000 * 36);
        sketch.Clear();
        Assert.Equal(0, sketch.Estimate(5));
        Assert.True(sketch.Bytes <= 512);
    }

    [Fact]
    public void Add_GrowingToAMillionEntries_CopiesABoundedNumberOfBlocksPerCall()
    {
        var sketch = new FrequencySketch();
        var maxCopied = 0L;
        var growing = 0;
        for (var count = 1; count <= 1 << 20; count++)
        {
            var copied = sketch.BlocksCopied;
            sketch.Add(count * 31, 1, count);
            sketch.Estimate(count * 17);
            maxCopied = Math.Max(maxCopied, sketch.BlocksCopied - copied);
            growing += sketch.IsGrowing ? 1 : 0;
        }

        // BlocksPerAdd in order, plus the block each of the two calls touched.
        Assert.InRange(maxCopied, 1, FrequencySketch.BlocksPerAdd + 2);
        Assert.True(growing > 1 << 17, $"{growing} additions left a doubling running");
        Assert.InRange(sketch.Bytes, (1 << 20) * 16, (1 << 20) * 36);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Estimates_WhileAndAfterGrowing_EqualThoseOfASketchThatCopiesEverythingAtOnce(int seed)
    {
        // Differential: the same additions (hot and cold keys, several doublings, aging periods, entries leaving) on
        // this sketch and on a reference that copies its whole table when it grows; every estimate must be equal,
        // while a doubling is being copied and after.
        var random = new Random(seed);
        var sketch = new FrequencySketch();
        var reference = new ReferenceSketch();
        var resident = 0;
        var compared = 0;
        var midGrowth = 0;
        for (var step = 0; step < 60_000; step++)
        {
            resident = Math.Max(0, resident + (random.Next(10) < 8 ? 1 : -1));
            var hash = random.Next(4) == 0 ? random.Next(64) : random.Next();
            var amount = random.Next(1, 4);
            sketch.Add(hash, amount, resident);
            reference.Add(hash, amount, resident);
            midGrowth += sketch.IsGrowing ? 1 : 0;
            for (var probe = 0; probe < 4; probe++)
            {
                var asked = probe == 0 ? hash : random.Next(4) == 0 ? random.Next(64) : random.Next();
                Assert.Equal(reference.Estimate(asked), sketch.Estimate(asked));
                compared++;
            }
        }

        Assert.True(midGrowth > 5_000, $"{midGrowth} steps ran mid-growth");
        Assert.True(sketch.Bytes >= 16 * 1024, $"{sketch.Bytes} bytes: it never grew");
        Assert.True(compared > 0);
    }

    [Fact]
    public void Admits_OnlyACandidateClearlyMoreFrequentThanTheVictim()
    {
        Assert.False(CachePolicy<int, int>.Admits(1, 1));
        Assert.False(CachePolicy<int, int>.Admits(2, 1));
        Assert.True(CachePolicy<int, int>.Admits(3, 1));
        Assert.True(CachePolicy<int, int>.Admits(2, 0));
    }

    /// <summary>The sketch before incremental growth: it copies every block into every place at once when it grows.</summary>
    private sealed class ReferenceSketch
    {
        private static readonly ulong[] ShiftMasks = [ulong.MaxValue, 0x7777777777777777UL, 0x3333333333333333UL, 0x1111111111111111UL];
        private ulong[] _words = new ulong[8 * 4];
        private ushort[] _epochs = new ushort[8];
        private int _mask = 7;
        private ushort _epoch;
        private long _samples;

        public int Estimate(int hash)
        {
            var spread = KeyHashSpread.Spread(hash);
            var block = Block(spread) * 4;
            var min = FrequencySketch.MaxCount;
            for (var row = 0; row < 4; row++)
            {
                min = Math.Min(min, (int)((_words[block + row] >> Shift(spread, row)) & 0xF));
            }

            return min;
        }

        public void Add(int hash, int amount, int residentCount)
        {
            var blocks = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(8, residentCount / 2));
            if (blocks > _mask + 1)
            {
                var (words, epochs, old) = (_words, _epochs, _mask + 1);
                (_words, _epochs, _mask) = (new ulong[blocks * 4], new ushort[blocks], blocks - 1);
                for (var start = 0; start < blocks; start += old)
                {
                    Array.Copy(words, 0, _words, start * 4, old * 4);
                    Array.Copy(epochs, 0, _epochs, start, old);
                }
            }

            var target = Math.Min(FrequencySketch.MaxCount, Estimate(hash) + amount);
            var spread = KeyHashSpread.Spread(hash);
            var block = Block(spread) * 4;
            for (var row = 0; row < 4; row++)
            {
                ref var word = ref _words[block + row];
                if ((int)((word >> Shift(spread, row)) & 0xF) < target)
                {
                    word = (word & ~(0xFUL << Shift(spread, row))) | ((ulong)target << Shift(spread, row));
                }
            }

            _samples += amount;
            if (_samples >= FrequencySketch.SamplesPerEntry * (long)Math.Max(16, residentCount))
            {
                _samples = 0;
                _epoch++;
            }
        }

        private static int Shift(ulong spread, int row) => (int)((spread >> (row * 4)) & 0xF) * 4;

        private int Block(ulong spread)
        {
            var block = (int)(spread >> 32) & _mask;
            var age = (ushort)(_epoch - _epochs[block]);
            if (age != 0)
            {
                for (var row = 0; row < 4; row++)
                {
                    ref var word = ref _words[(block * 4) + row];
                    word = age >= 4 ? 0 : (word >> age) & ShiftMasks[age];
                }

                _epochs[block] = _epoch;
            }

            return block;
        }
    }
}
