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

        Assert.Equal(ScaleOutDemo.Capacity, result.MaxL1CountA);
        Assert.Equal(ScaleOutDemo.Capacity, result.MaxL1CountB);
        Assert.True(result.RemovalReachedB, output.ToString());
        Assert.Contains("left B's L1", output.ToString(), StringComparison.Ordinal);
    }
}
