using SafeRefs.Testing.Internal;

namespace SafeRefs.Testing.Heap.Tests.Internal;

/// <summary>Name lookups stay O(1) on processes with many types, and runtime names are looked up as they are.</summary>
public sealed class LookupTests
{
    [Fact]
    public void Indexer_SnapshotWithTwentyThousandTypes_DoesNotAllocatePerType()
    {
        HeapSnapshot snapshot = Synthetic(20_000, i => i);
        _ = snapshot["Generated.Type0"]; // builds the lookup once

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1_000; i++)
        {
            Assert.Equal(i, snapshot[$"Generated.Type{i * 20}"].Count - (i * 19));
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // A lookup parses the name and builds one result: well under a kilobyte. A scan over the types would
        // allocate a name per type (about 800 KB per lookup here).
        Assert.True(allocated < 1_000 * 1_024, $"1,000 lookups allocated {allocated:N0} B");
    }

    [Fact]
    public void Suspects_FiveSnapshotsOfFiveThousandTypes_StaysLinear()
    {
        HeapSnapshot[] snapshots = [.. Enumerable.Range(0, 5).Select(s => Synthetic(5_000, i => i == 7 ? 100 * s : i))];
        long[] steps = [0, 1, 2, 3, 4];

        long before = GC.GetAllocatedBytesForCurrentThread();
        List<GrowingType> suspects = GrowthRule.Suspects(snapshots, steps, 1.0, 1024.0, heldByCaller: false);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal("Generated.Type7", Assert.Single(suspects).TypeName);
        Assert.True(allocated < 64L * 1_024 * 1_024, $"the rule allocated {allocated:N0} B");
    }

    [Fact]
    public void Suspects_RuntimeNameTheUserParserWouldRewrite_IsFound()
    {
        // A name as a walk writes it (a nested type with its declaring type): looked up verbatim, not re-parsed.
        HeapSnapshot[] snapshots =
        [
            .. Enumerable.Range(0, 3).Select(s => new HeapSnapshot(
                DateTimeOffset.UnixEpoch,
                42,
                [new TypeStatistics("Demo.Outer+Inner", "Demo", 100 + (100 * s), 2_400 + (2_400 * s)), new TypeStatistics("Inner", "Other", 5, 120)])),
        ];

        List<GrowingType> suspects = GrowthRule.Suspects(snapshots, [0, 1, 2], 1.0, 1024.0, heldByCaller: false);

        Assert.Equal("Demo.Outer+Inner", Assert.Single(suspects).TypeName);
    }

    private static HeapSnapshot Synthetic(int types, Func<int, long> count) =>
        new(
            DateTimeOffset.UnixEpoch,
            42,
            Enumerable.Range(0, types).Select(i => new TypeStatistics($"Generated.Type{i}", "Generated", count(i), count(i) * 24)));
}
