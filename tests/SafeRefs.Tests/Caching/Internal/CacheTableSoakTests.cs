using SafeRefs.Caching.Internal;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Caching.Internal;

[Collection(SoakCollection.Name)]
public sealed class CacheTableSoakTests
{
    [Fact]
    public void Find_WhileOneWriterAddsReplacesRemovesAndGrows_NeverMissesAResidentKey()
    {
        const int rounds = 40;
        const int keys = 4096;
        var falseMisses = 0;
        var lookups = 0L;
        for (var round = 0; round < rounds; round++)
        {
            // Starts at 16 buckets and doubles eight times while the readers run.
            var table = new CacheTable<int, int>(keys, comparer: null, maxInitialBuckets: 16);
            var published = -1;          // every key in [0, published] is resident from then on
            var done = 0;
            var resident = new CacheNode<int, int>?[keys];
            using var start = new Barrier(3);
            var writer = new Thread(() =>
            {
                start.SignalAndWait();
                var count = 0;
                for (var key = 0; key < keys; key++)
                {
                    var node = new CacheNode<int, int>(key, table.Hash(key), key) { Queue = 1 };
                    table.Add(node, ++count);
                    resident[key] = node;
                    Volatile.Write(ref published, key);

                    // Churn behind the readers: replace an already published key, and add then remove a key from a
                    // range the readers never ask for.
                    var old = key / 2;
                    var replacement = new CacheNode<int, int>(old, table.Hash(old), old) { Queue = 1 };
                    table.Replace(resident[old]!, replacement);
                    resident[old] = replacement;
                    var churn = new CacheNode<int, int>(keys + key, table.Hash(keys + key), -1) { Queue = 1 };
                    table.Add(churn, ++count);
                    table.Remove(churn);
                    count--;
                }

                Volatile.Write(ref done, 1);
            });
            var readers = Enumerable.Range(0, 2).Select(seed => new Thread(() =>
            {
                var random = new Random(seed + (round * 7));
                start.SignalAndWait();
                long mine = 0;
                while (Volatile.Read(ref done) == 0)
                {
                    var upTo = Volatile.Read(ref published);
                    if (upTo < 0)
                    {
                        continue;
                    }

                    var key = random.Next(upTo + 1);
                    mine++;
                    if (table.Find(key, table.Hash(key))?.Value != key)
                    {
                        Interlocked.Increment(ref falseMisses);
                    }
                }

                Interlocked.Add(ref lookups, mine);
            })).ToList();

            writer.Start();
            readers.ForEach(r => r.Start());
            writer.Join();
            readers.ForEach(r => r.Join());
            Assert.True(table.BucketCount >= keys, $"bucket count {table.BucketCount}");
        }

        Assert.Equal(0, falseMisses);
        Assert.True(lookups > 0);
    }
}
