using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SafeRefs.Caching.Internal;

namespace SafeRefs.Tests.Caching.Internal;

public sealed class CacheTableTests
{
    // Operation codes: 0 add (if absent) / replace (if present), 1 remove, 2 clear (rare). Keys 0..63.
    private static Arbitrary<(int Op, int Key)[]> Operations()
    {
        var op = Gen.Frequency((60, Gen.Constant(0)), (38, Gen.Constant(1)), (2, Gen.Constant(2)));
        var step = from o in op
                   from k in Gen.Choose(0, 63)
                   select (o, k);
        return Gen.ArrayOf(step).ToArbitrary();
    }

    [Property(MaxTest = 300)]
    public Property RandomOperations_FindAndEnumerateMatchModelAfterEveryStep()
    {
        // Few distinct hashes (chains of several nodes) and a table that starts small, so unlinking from the middle of a
        // chain, replacing in a chain, growing while chains are long, and every operation while a migration runs all happen.
        var hashCounts = Gen.Elements(1, 3, 64).ToArbitrary();
        return Prop.ForAll(hashCounts, Operations(), (hashCount, operations) => Replay(new ModuloComparer(hashCount), operations));
    }

    [Fact]
    public void Add_PastInitialBuckets_GrowsAndFindsEveryKey()
    {
        var table = new CacheTable<int, int>(capacity: 1000, comparer: null, maxInitialBuckets: 16);
        var count = 0;
        for (var key = 0; key < 1000; key++)
        {
            Add(ref table, Node(table, key, key), ++count);
        }

        Assert.True(table.BucketCount >= 1000, $"bucket count {table.BucketCount}");
        for (var key = 0; key < 1000; key++)
        {
            Assert.Equal(key, table.Find(key, table.Hash(key))?.Value);
        }

        Assert.Null(table.Find(1000, table.Hash(1000)));
    }

    [Fact]
    public void Add_WithinInitialBuckets_NeverGrows()
    {
        var table = new CacheTable<int, int>(capacity: 1000, comparer: null);
        var initial = table.BucketCount;
        for (var key = 0; key < 1000; key++)
        {
            Add(ref table, Node(table, key, key), key + 1);
        }

        Assert.Equal(1024, initial);
        Assert.Equal(initial, table.BucketCount);
    }

    [Fact]
    public void Remove_NodeNotResident_ReturnsFalseAndKeepsOthers()
    {
        var comparer = new ModuloComparer(1);
        var table = new CacheTable<int, int>(16, comparer);
        var first = Node(table, 1, 1);
        var second = Node(table, 2, 2);
        Add(ref table, first, 1);
        Add(ref table, second, 2);

        Assert.True(table.Remove(first));
        Assert.False(table.Remove(first));
        Assert.False(table.Remove(Node(table, 2, 99)));
        Assert.Same(second, table.Find(2, table.Hash(2)));
        Assert.Null(table.Find(1, table.Hash(1)));
    }

    [Fact]
    public void Remove_FromChainMiddle_ReaderStandingOnRemovedNodeStillReachesTheRest()
    {
        var table = new CacheTable<int, int>(16, new ModuloComparer(1));
        var nodes = Enumerable.Range(0, 3).Select(k => Node(table, k, k)).ToArray();
        for (var i = 0; i < nodes.Length; i++)
        {
            Add(ref table, nodes[i], i + 1);
        }

        // Chain order is newest first: 2 -> 1 -> 0. A reader standing on 1 when it is removed must still reach 0.
        Assert.True(table.Remove(nodes[1]));
        Assert.Same(nodes[0], nodes[1].HashNext);
        Assert.Same(nodes[0], nodes[2].HashNext);
        Assert.Null(table.Find(1, table.Hash(1)));
    }

    [Fact]
    public void Replace_ResidentNode_FindReturnsReplacementInSamePlace()
    {
        var table = new CacheTable<int, int>(16, new ModuloComparer(1));
        var a = Node(table, 1, 1);
        var b = Node(table, 2, 2);
        var c = Node(table, 3, 3);
        Add(ref table, a, 1);
        Add(ref table, b, 2);
        Add(ref table, c, 3);
        var replacement = Node(table, 2, 20);

        table.Replace(b, replacement);

        Assert.Equal(20, table.Find(2, table.Hash(2))?.Value);
        Assert.Same(a, replacement.HashNext);
        Assert.Equal([1, 3, 20], table.Enumerate().Select(n => n.Value).Order());
    }

    [Fact]
    public void Find_WithReferenceTypeKeysAndCustomComparer_UsesComparer()
    {
        var table = new CacheTable<string, int>(16, StringComparer.OrdinalIgnoreCase);
        Add(ref table, new CacheNode<string, int>("Key", table.Hash("Key"), 7) { Queue = 1 }, 1);

        Assert.Equal(7, table.Find("KEY", table.Hash("KEY"))?.Value);
        Assert.Null(table.Find("other", table.Hash("other")));
    }

    [Fact]
    public void Add_GrowingFromEmptyToAMillion_MovesABoundedNumberOfNodesAndAllocatesNothing()
    {
        // What a cache does under its write lock per insert: StartGrowth (with an array allocated before the lock) and
        // Add. Neither may do work or allocate in proportion to the table, however large it has grown.
        const int keys = 1 << 20;
        var table = new CacheTable<int, int>(keys, comparer: null, maxInitialBuckets: 16);
        var maxSteps = 0L;
        var allocated = 0L; // by the calls made under the lock, in all
        var migrating = 0;
        for (var key = 0; key < keys; key++)
        {
            var node = Node(table, key, key);
            var grown = table.AllocateGrowth(key);
            var (steps, before) = (table.MigrationSteps, GC.GetAllocatedBytesForCurrentThread());
            if (grown is not null)
            {
                table.StartGrowth(grown);
            }

            table.Add(node);
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
            maxSteps = Math.Max(maxSteps, table.MigrationSteps - steps);
            migrating += table.IsMigrating ? 1 : 0;
        }

        Assert.Equal(CacheTable<int, int>.StepsPerAdd, maxSteps);

        // The bucket arrays come to 16 MB in all; a few bytes of the runtime's own (tiering) may land in the window.
        Assert.True(allocated < 64 * 1024, $"{allocated} bytes allocated under the lock");
        Assert.True(migrating > keys / 4, $"{migrating} additions left a migration running");
        Assert.True(table.BucketCount >= keys, $"bucket count {table.BucketCount}");
        for (var key = 0; key < keys; key += 97)
        {
            Assert.Equal(key, table.Find(key, table.Hash(key))?.Value);
        }
    }

    [Fact]
    public void Find_WhileStartGrowthPublishesTheNewArray_FindsEveryResidentKey()
    {
        // A lock-free lookup can run between any two stores of StartGrowth: there it must still see every resident node
        // (in the old array), never an empty new array taken for the whole index.
        var table = new CacheTable<int, int>(capacity: 1000, comparer: null, maxInitialBuckets: 16);
        const int keys = 17;
        for (var key = 0; key < keys; key++)
        {
            table.Add(Node(table, key, key));
        }

        var grown = table.AllocateGrowth(keys);
        Assert.NotNull(grown);
        var writer = Environment.CurrentManagedThreadId;
        var missed = new List<int>();
        var calls = 0;
        CacheTable<int, int>.GrowthPublishedHook = () =>
        {
            if (Environment.CurrentManagedThreadId != writer)
            {
                return; // another test growing a table of the same type
            }

            calls++;
            for (var key = 0; key < keys; key++)
            {
                if (table.Find(key, table.Hash(key))?.Value != key)
                {
                    missed.Add(key);
                }
            }
        };
        try
        {
            Assert.True(table.StartGrowth(grown));
        }
        finally
        {
            CacheTable<int, int>.GrowthPublishedHook = null;
        }

        Assert.Equal(1, calls);
        Assert.Empty(missed);
    }

    [Fact]
    public void Replay_GrowingSequence_RunsStepsWhileAMigrationRuns()
    {
        // The property below checks Find, Enumerate, Replace, Remove and Clear after every step; this makes sure that
        // many of those steps happen while a migration runs (so the property is not vacuous about it).
        var operations = Enumerable.Range(0, 600).Select(i => (Op: i % 5 == 4 ? 1 : i % 97 == 96 ? 2 : 0, Key: (i * 37) % 64)).ToArray();
        Assert.True(Replay(new ModuloComparer(64), operations, out var midMigration));
        Assert.True(midMigration > 50, $"{midMigration} steps ran mid-migration");
        Assert.True(Replay(new ModuloComparer(1), operations, out midMigration));
        Assert.True(midMigration > 50, $"{midMigration} steps ran mid-migration (one chain)");
    }

    private static void Add<TKey>(ref CacheTable<TKey, int> table, CacheNode<TKey, int> node, int count)
        where TKey : notnull
    {
        if (table.AllocateGrowth(count) is { } grown)
        {
            table.StartGrowth(grown);
        }

        table.Add(node);
    }

    private static CacheNode<int, int> Node(CacheTable<int, int> table, int key, int value)
        => new(key, table.Hash(key), value) { Queue = 1 };

    private static bool Replay(ModuloComparer comparer, (int Op, int Key)[] operations) => Replay(comparer, operations, out _);

    private static bool Replay(ModuloComparer comparer, (int Op, int Key)[] operations, out int midMigration)
    {
        // Starts at 4 buckets: it migrates to 8, 16, 32 and 64 as the model grows, a few nodes per addition, and the
        // other operations run in between.
        var table = new CacheTable<int, int>(capacity: 64, comparer, maxInitialBuckets: 4);
        midMigration = 0;
        var model = new Dictionary<int, CacheNode<int, int>>();
        var version = 0;
        foreach (var (op, key) in operations)
        {
            switch (op)
            {
                case 0:
                    var node = new CacheNode<int, int>(key, table.Hash(key), version++) { Queue = 1 };
                    if (model.TryGetValue(key, out var resident))
                    {
                        table.Replace(resident, node);
                        resident.Queue = 0;
                    }
                    else
                    {
                        Add(ref table, node, model.Count + 1);
                    }

                    model[key] = node;
                    break;
                case 1:
                    if (model.Remove(key, out var removed) != table.Remove(removed ?? new CacheNode<int, int>(key, table.Hash(key), -1)))
                    {
                        return false;
                    }

                    if (removed is not null)
                    {
                        removed.Queue = 0;
                    }

                    break;
                default:
                    table.Clear();
                    foreach (var gone in model.Values)
                    {
                        gone.Queue = 0;
                    }

                    model.Clear();
                    break;
            }

            midMigration += table.IsMigrating ? 1 : 0;

            for (var k = 0; k < 64; k++)
            {
                var found = table.Find(k, table.Hash(k));
                if (!ReferenceEquals(found, model.GetValueOrDefault(k)))
                {
                    return false;
                }
            }

            if (!table.Enumerate().Select(n => n.Key).Order().SequenceEqual(model.Keys.Order()))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Equal by value, hashed into a few classes so that chains get long.</summary>
    private sealed class ModuloComparer(int hashes) : IEqualityComparer<int>
    {
        public bool Equals(int x, int y) => x == y;

        public int GetHashCode(int obj) => obj % hashes;
    }
}
