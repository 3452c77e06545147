using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SafeRefs.Caching;

namespace SafeRefs.Tests.Caching;

public sealed class BoundedLruCachePropertyTests
{
    // Operation codes: 0 TryGet, 1 Set, 2 GetOrAdd, 3 TryRemove, 4 Clear (rare); keys drawn from a small range so
    // hits, replacements and evictions all happen.
    private static Arbitrary<(int Op, int Key)[]> Operations()
    {
        var op = Gen.Frequency((30, Gen.Constant(0)), (35, Gen.Constant(1)), (25, Gen.Constant(2)), (9, Gen.Constant(3)), (1, Gen.Constant(4)));
        var step = from o in op
                   from k in Gen.Choose(0, 24)
                   select (o, k);
        return Gen.ArrayOf(step).ToArbitrary();
    }

    [Property(MaxTest = 300)]
    public Property RandomOperations_MatchModelAfterEveryStep()
    {
        var capacities = Gen.Choose(1, 12).ToArbitrary();
        return Prop.ForAll(capacities, Operations(), (capacity, operations) => Replay(capacity, operations));
    }

    private static bool Replay(int capacity, (int Op, int Key)[] operations)
    {
        using var cache = new BoundedLruCache<int, string>(capacity);
        var written = new Dictionary<int, string>();   // last value written per key (the model of possible contents)
        var removedSinceWrite = new HashSet<int>();
        long lookups = 0;
        long evictions = 0;
        cache.Evicted += (_, e) =>
        {
            if (e.Reason == CacheEvictionReason.Capacity)
            {
                evictions++;
            }
        };
        var version = 0;
        foreach (var (op, key) in operations)
        {
            switch (op)
            {
                case 0:
                    lookups++;
                    if (cache.TryGet(key, out var got) && (!written.TryGetValue(key, out var expected) || got != expected || removedSinceWrite.Contains(key)))
                    {
                        return false;
                    }

                    break;
                case 1:
                    var value = $"{key}:{version++}";
                    cache.Set(key, value);
                    written[key] = value;
                    removedSinceWrite.Remove(key);
                    if (!cache.TryGet(key, out var back) || back != value)
                    {
                        return false; // the most recently written key is present
                    }

                    lookups++;
                    break;
                case 2:
                    lookups++;
                    var created = $"{key}:{version++}";
                    var result = cache.GetOrAdd(key, _ => created);
                    if (result == created)
                    {
                        written[key] = created;
                        removedSinceWrite.Remove(key);
                    }
                    else if (!written.TryGetValue(key, out var prior) || prior != result || removedSinceWrite.Contains(key))
                    {
                        return false;
                    }

                    break;
                case 3:
                    var removed = cache.TryRemove(key, out var removedValue);
                    if (removed && (!written.TryGetValue(key, out var w) || w != removedValue || removedSinceWrite.Contains(key)))
                    {
                        return false;
                    }

                    removedSinceWrite.Add(key);
                    break;
                default:
                    cache.Clear();
                    foreach (var k in written.Keys)
                    {
                        removedSinceWrite.Add(k);
                    }

                    break;
            }

            var stats = cache.Statistics;
            if (cache.Count > capacity || cache.Count < 0 || stats.Hits + stats.Misses != lookups || stats.Evictions != evictions)
            {
                return false;
            }

            var live = written.Keys.Count(k => !removedSinceWrite.Contains(k));
            if (cache.Count > live)
            {
                return false; // contents are a subset of what was written and not removed since
            }
        }

        return true;
    }
}
