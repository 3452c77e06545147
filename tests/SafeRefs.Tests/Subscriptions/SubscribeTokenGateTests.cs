using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// A <c>Subscribe.Event</c> token does not expose the gate its forwarder calls through: a holder of the
/// <see cref="Subscription"/> could otherwise take the handler or unbalance the gate.
/// </summary>
public sealed class SubscribeTokenGateTests
{
    public SubscribeTokenGateTests() => HandForwarders.Ensure();

    [Fact]
    public void BuiltInForwardedType_TokenIsNotAForwarderGate()
    {
        var source = new TestSource();
        var token = Subscribe.Event<TestSource, EventHandler>(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, static (_, _) => { });

        Assert.False(token is IEventForwarderGate);
        token.Dispose();
    }

    [Fact]
    public void RegisteredForwarder_TokenIsNotAForwarderGate_AndTheForwarderStillCallsThroughTheGate()
    {
        var source = new CustomSource();
        var calls = 0;
        var token = Subscribe.Event(source, static (s, h) => s.Weighed += h, static (s, h) => s.Weighed -= h, (Weighed)((_, _, _) => ++calls > 0));

        Assert.False(token is IEventForwarderGate);
        Assert.True(source.ReadWeighed()!(1, "x", 2.0));
        Assert.Equal(1, calls);

        var forwarder = source.ReadWeighed()!;
        token.Dispose();

        Assert.False(forwarder(1, "x", 2.0));
        Assert.Equal(1, calls);
    }

    private sealed class CustomSource
    {
        public event Weighed? Weighed;

        public Weighed? ReadWeighed() => Weighed;
    }
}
