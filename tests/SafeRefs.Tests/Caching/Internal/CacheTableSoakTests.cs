using SafeRefs.Caching.Internal;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Caching.Internal;

[Collection(SoakCollection.Name)]
public sealed class CacheTableSoakTests
{
    [Fact]
    public void Find_WhileOneWriterAddsReplacesRemovesAndGrows_NeverMissesAResidentKey()
    {
        // Bounded in rounds and in time (a loaded machine runs fewer rounds, never longer).
        const int rounds = 40;
        const int keys = 4096;
        var falseMisses = 0;
        var lookups = 0L;
        var migratingLookups = 0L;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var round = 0; round < rounds && (round < 2 || clock.Elapsed < TimeSpan.FromSeconds(20)); round++)
        {
            // Starts at 16 buckets and doubles eight times while the readers run; about half of the additions run
            // while a migration is moving nodes.
            var table = new CacheTable<int, int>(keys, comparer: null, maxInitialBuckets: 16);
            var published = -1;          // every key in [0, published] is resident from then on
            var done = 0;
            var resident = new CacheNode<int, int>?[keys];
            var readDuringMigration = 0;
            using var start = new Barrier(3);
            var writer = new Thread(() =>
            {
                start.SignalAndWaitBounded();
                var count = 0;
                for (var key = 0; key < keys; key++)
                {
                    var node = new CacheNode<int, int>(key, table.Hash(key), key) { Queue = 1 };
                    Add(ref table, node, count++);
                    resident[key] = node;
                    Volatile.Write(ref published, key);
                    if (Volatile.Read(ref readDuringMigration) == 0 && table.IsMigrating)
                    {
                        // Only the writer moves nodes: hold this migration until a reader has looked up during it, or a
                        // loaded machine may schedule the readers only between migrations and the round checks nothing.
                        _ = SpinWait.SpinUntil(() => Volatile.Read(ref readDuringMigration) != 0, TimeSpan.FromSeconds(30));
                    }

                    // Churn behind the readers: replace an already published key, and add then remove a key from a
                    // range the readers never ask for.
                    var old = key / 2;
                    var replacement = new CacheNode<int, int>(old, table.Hash(old), old) { Queue = 1 };
                    table.Replace(resident[old]!, replacement);
                    resident[old] = replacement;
                    var churn = new CacheNode<int, int>(keys + key, table.Hash(keys + key), -1) { Queue = 1 };
                    Add(ref table, churn, count++);
                    table.Remove(churn);
                    count--;
                }

                Volatile.Write(ref done, 1);
            });
            var readers = Enumerable.Range(0, 2).Select(seed => new Thread(() =>
            {
                var random = new Random(seed + (round * 7));
                start.SignalAndWaitBounded();
                long mine = 0;
                long migrating = 0;
                while (Volatile.Read(ref done) == 0)
                {
                    var upTo = Volatile.Read(ref published);
                    if (upTo < 0)
                    {
                        continue;
                    }

                    var key = random.Next(upTo + 1);
                    mine++;
                    var duringMigration = table.IsMigrating;
                    if (table.Find(key, table.Hash(key)) is not { } found || found.Key != key || found.Value != key)
                    {
                        Interlocked.Increment(ref falseMisses);
                    }

                    if (duringMigration)
                    {
                        migrating++;
                        Volatile.Write(ref readDuringMigration, 1);
                    }
                }

                Interlocked.Add(ref lookups, mine);
                Interlocked.Add(ref migratingLookups, migrating);
            })).ToList();

            writer.Start();
            readers.ForEach(r => r.Start());
            writer.JoinBounded();
            readers.ForEach(r => r.JoinBounded());
            Assert.True(table.BucketCount >= keys, $"bucket count {table.BucketCount}");
        }

        Assert.Equal(0, falseMisses);
        Assert.True(lookups > 0);
        Assert.True(migratingLookups > 0, "no lookup ran while a migration was running");
    }

    /// <summary>What a cache does per insert: hand over a larger array when the nodes outnumber the buckets, then add.</summary>
    private static void Add(ref CacheTable<int, int> table, CacheNode<int, int> node, int countBefore)
    {
        if (table.AllocateGrowth(countBefore) is { } grown)
        {
            table.StartGrowth(grown);
        }

        table.Add(node);
    }
}
