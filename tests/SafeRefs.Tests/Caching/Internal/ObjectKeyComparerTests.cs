using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Caching.Memory;
using SafeRefs.Caching;
using SafeRefs.Caching.Internal;

namespace SafeRefs.Tests.Caching.Internal;

/// <summary>
/// <see cref="ObjectKeyComparer"/> is <see cref="EqualityComparer{T}.Default"/> of <see cref="object"/> with a faster
/// string path: same equality, same (randomized) string hash, and it is the comparer <see cref="BoundedMemoryCache"/> uses.
/// </summary>
public sealed class ObjectKeyComparerTests
{
    private static readonly EqualityComparer<object> Default = EqualityComparer<object>.Default;

    // Keys of mixed types that collide on purpose: equal strings in separate instances, the same digits as a string
    // and as an int or a long, and a record equal by value.
    private static Arbitrary<(object, object)> KeyPairs()
    {
        var key = from kind in Gen.Choose(0, 4)
                  from n in Gen.Choose(0, 3)
                  select kind switch
                  {
                      0 => (object)new string(('k' + n.ToString(System.Globalization.CultureInfo.InvariantCulture)).AsSpan()),
                      1 => n,
                      2 => (long)n,
                      3 => new Sku(n),
                      _ => n.ToString(System.Globalization.CultureInfo.InvariantCulture),
                  };
        return (from a in key from b in key select (a, b)).ToArbitrary();
    }

    [Property(MaxTest = 500)]
    public Property EqualsAndGetHashCode_AgreeWithTheDefaultComparer() => Prop.ForAll(KeyPairs(), pair =>
    {
        var (a, b) = pair;
        return ObjectKeyComparer.Instance.Equals(a, b) == Default.Equals(a, b)
            && ObjectKeyComparer.Instance.GetHashCode(a) == Default.GetHashCode(a);
    });

    [Fact]
    public void StringKeys_HashWithTheRuntimesRandomizedStringHash()
    {
        // The randomized hash is what keeps crafted colliding keys from piling into one index chain.
        const string key = "product:4242";

        Assert.Equal(key.GetHashCode(), ObjectKeyComparer.Instance.GetHashCode(new string(key.AsSpan())));
        Assert.True(ObjectKeyComparer.Instance.Equals(key, new string(key.AsSpan())));
        Assert.False(ObjectKeyComparer.Instance.Equals(key, "product:4243"));
        Assert.False(ObjectKeyComparer.Instance.Equals("1", 1));
    }

    [Fact]
    public void BoundedMemoryCache_UsesIt()
    {
        using var cache = new BoundedMemoryCache(new BoundedMemoryCacheOptions());
        cache.Set(new string("k".AsSpan()), 1);

        Assert.Same(ObjectKeyComparer.Instance, cache.Engine.Comparer);
        Assert.True(cache.TryGetValue("k", out var value));
        Assert.Equal(1, value);
        Assert.False(cache.TryGetValue('k', out _));
    }

    private sealed record Sku(int Id);
}
