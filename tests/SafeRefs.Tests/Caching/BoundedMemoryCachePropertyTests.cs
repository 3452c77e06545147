using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Caching.Memory;
using SafeRefs.Caching;

namespace SafeRefs.Tests.Caching;

/// <summary>
/// Differential property: while nothing forces an eviction (capacity ≥ key range), <see cref="BoundedMemoryCache"/>
/// and Microsoft's <see cref="MemoryCache"/> must agree, after every step of a random <see cref="IMemoryCache"/>
/// sequence, on which keys are present, their values and the entry count.
/// </summary>
public sealed class BoundedMemoryCachePropertyTests
{
    private const int KeyRange = 8;

    // Operation codes: 0 read, 1 plain Set, 2 Set with a post-eviction callback, 3 Set with a priority, 4 Remove,
    // 5 GetOrCreate whose factory throws, 6 entry disposed without a value, 7 Compact(1.0), 8 Compact(0), 9 Clear,
    // 10 GetOrCreate (stores only if absent).
    private static Arbitrary<(int Op, int Key, int Arg)[]> Operations()
    {
        var op = Gen.Frequency(
            (20, Gen.Constant(0)),
            (25, Gen.Constant(1)),
            (10, Gen.Constant(2)),
            (10, Gen.Constant(3)),
            (10, Gen.Constant(4)),
            (5, Gen.Constant(5)),
            (5, Gen.Constant(6)),
            (3, Gen.Constant(7)),
            (3, Gen.Constant(8)),
            (2, Gen.Constant(9)),
            (7, Gen.Constant(10)));
        var step = from o in op
                   from k in Gen.Choose(0, KeyRange - 1)
                   from a in Gen.Choose(0, 3)
                   select (o, k, a);
        return Gen.ArrayOf(step).ToArbitrary();
    }

    [Property(MaxTest = 200)]
    public Property RandomOperations_AgreeWithMemoryCacheAfterEveryStep() => Prop.ForAll(Operations(), Replay);

    private static bool Replay((int Op, int Key, int Arg)[] operations)
    {
        using var bounded = new BoundedMemoryCache(new BoundedMemoryCacheOptions { Capacity = KeyRange });
        using var reference = new MemoryCache(new MemoryCacheOptions());
        var version = 0;
        foreach (var (op, key, arg) in operations)
        {
            var value = version++;
            foreach (var cache in new IMemoryCache[] { bounded, reference })
            {
                Apply(cache, op, key, arg, value);
            }

            if (!Agree(bounded, reference))
            {
                return false;
            }
        }

        return true;
    }

    private static void Apply(IMemoryCache cache, int op, int key, int arg, int value)
    {
        switch (op)
        {
            case 0:
                cache.TryGetValue(key, out _);
                break;
            case 1:
                cache.Set(key, value);
                break;
            case 2:
                cache.Set(key, value, new MemoryCacheEntryOptions().RegisterPostEvictionCallback(static (_, _, _, _) => { }));
                break;
            case 3:
                cache.Set(key, value, new MemoryCacheEntryOptions { Priority = (CacheItemPriority)arg });
                break;
            case 4:
                cache.Remove(key);
                break;
            case 5:
                try
                {
                    cache.GetOrCreate<int>(key, static _ => throw new InvalidOperationException("factory failed"));
                }
                catch (InvalidOperationException)
                {
                }

                break;
            case 6:
                using (var entry = cache.CreateEntry(key))
                {
                    entry.Priority = CacheItemPriority.High;
                }

                break;
            case 7:
                Compact(cache, 1.0);
                break;
            case 8:
                Compact(cache, 0);
                break;
            case 9:
                Clear(cache);
                break;
            default:
                cache.GetOrCreate(key, _ => value);
                break;
        }
    }

    private static void Compact(IMemoryCache cache, double percentage)
    {
        if (cache is MemoryCache memory)
        {
            memory.Compact(percentage);
        }
        else
        {
            ((BoundedMemoryCache)cache).Compact(percentage);
        }
    }

    private static void Clear(IMemoryCache cache)
    {
        if (cache is MemoryCache memory)
        {
            memory.Clear();
        }
        else
        {
            ((BoundedMemoryCache)cache).Clear();
        }
    }

    private static bool Agree(BoundedMemoryCache bounded, MemoryCache reference)
    {
        if (bounded.Count != reference.Count || bounded.Count > KeyRange)
        {
            return false;
        }

        if (!bounded.Keys.Cast<int>().Order().SequenceEqual(reference.Keys.Cast<int>().Order()))
        {
            return false;
        }

        for (var key = 0; key < KeyRange; key++)
        {
            var inBounded = bounded.TryGetValue(key, out var boundedValue);
            var inReference = reference.TryGetValue(key, out var referenceValue);
            if (inBounded != inReference || !Equals(boundedValue, referenceValue))
            {
                return false;
            }
        }

        return true;
    }
}
