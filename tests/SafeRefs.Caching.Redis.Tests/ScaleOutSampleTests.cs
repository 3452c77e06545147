using SafeRefs.Caching.Redis.Tests.Infrastructure;
using SafeRefs.ScaleOut;

namespace SafeRefs.Caching.Redis.Tests;

/// <summary>samples/SafeRefs.ScaleOut shows what it claims.</summary>
public sealed class ScaleOutSampleTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [RedisFact]
    public async Task Demo_L1CountsStayAtTheirBound_AndARemovalReachesTheOtherInstance()
    {
        using var output = new StringWriter();

        var result = await ScaleOutDemo.RunAsync(redis.Endpoint, output, keys: 300);

        // The bound holds, and each L1 was filled up to it (B reads each key after A's announcement of its write has
        // reached B, so no late announcement erodes B's count; the margin is for the moment of an eviction).
        Assert.InRange(result.MaxL1CountA, ScaleOutDemo.Capacity * 9 / 10, ScaleOutDemo.Capacity);
        Assert.InRange(result.MaxL1CountB, ScaleOutDemo.Capacity * 9 / 10, ScaleOutDemo.Capacity);
        Assert.True(result.RemovalReachedB, output.ToString());
        Assert.Contains("left B's L1", output.ToString(), StringComparison.Ordinal);
    }
}
