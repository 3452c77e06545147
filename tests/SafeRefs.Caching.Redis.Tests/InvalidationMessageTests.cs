using SafeRefs.Caching.Redis.Internal;

namespace SafeRefs.Caching.Redis.Tests;

public sealed class InvalidationMessageTests
{
    [Theory]
    [InlineData('k', "user:1")]
    [InlineData('k', "a|b|c")]
    [InlineData('k', "")]
    [InlineData('t', "*")]
    [InlineData('c', "")]
    public void Format_ThenParse_RoundTrips(char code, string payload)
    {
        var kind = (InvalidationKind)code;
        var message = InvalidationMessage.Format("abc123", kind, payload);

        Assert.True(InvalidationMessage.TryParse(message, out var sender, out var parsedKind, out var parsedPayload));
        Assert.Equal("abc123", sender);
        Assert.Equal(kind, parsedKind);
        Assert.Equal(payload, parsedPayload);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("2|abc|k|key")]
    [InlineData("1|abc|x|key")]
    [InlineData("1||k|key")]
    [InlineData("1|abc")]
    [InlineData("1|abc|k")]
    [InlineData("1|abck|key")]
    public void TryParse_Malformed_ReturnsFalse(string? message)
        => Assert.False(InvalidationMessage.TryParse(message, out _, out _, out _));
}
