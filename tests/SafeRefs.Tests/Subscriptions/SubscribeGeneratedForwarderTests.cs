using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// The SafeRefs generator runs on this project: a delegate type used with <c>Subscribe.Event</c> and registered by
/// nobody else gets a gated forwarder, so "no start after <c>Dispose</c>" and <c>DisposeAsync</c>'s wait hold for it.
/// </summary>
public sealed class SubscribeGeneratedForwarderTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task GeneratedForwarder_RaiserHadReadTheDelegate_HandlerDoesNotStartAfterDispose()
    {
        var source = new QuoteSource();
        var calls = 0;
        var token = Subscribe.Event(source, static (s, h) => s.Quoted += h, static (s, h) => s.Quoted -= h, (Quoted)((_, _, _) => calls++));
        using var read = new ManualResetEventSlim();
        using var go = new ManualResetEventSlim();
        var raising = Task.Run(() =>
        {
            var handler = source.ReadQuoted();
            read.Set();
            go.Wait(Bound);
            handler?.Invoke("X", 1m, 2);
        });
        Assert.True(read.Wait(Bound));

        // Control: the delegate the raiser read reaches the handler while the token is live.
        source.ReadQuoted()!("X", 1m, 2);
        Assert.Equal(1, calls);

        token.Dispose();
        go.Set();
        await raising.WaitAsync(Bound);

        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task GeneratedForwarder_DisposeAsyncWhileTheHandlerRuns_Waits()
    {
        var source = new QuoteSource();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var token = Subscribe.Event(source, static (s, h) => s.Quoted += h, static (s, h) => s.Quoted -= h, (Quoted)((_, _, _) =>
        {
            entered.Set();
            release.Wait(Bound);
        }));
        await SubscribeForwardedShapesTests.WaitsForTheRunningHandler(token, () => source.ReadQuoted()?.Invoke("X", 1m, 2), entered, release, disposeFirst: false);
    }

    [Fact]
    public void GeneratedForwarder_FuncAfterDispose_ReturnsDefault()
    {
        var source = new QuoteSource();
        var token = Subscribe.Event(source, static (s, h) => s.Asked += h, static (s, h) => s.Asked -= h, (Func<int, int, int, string>)((_, _, _) => "answer"));
        var read = source.ReadAsked()!;
        Assert.Equal("answer", read(1, 2, 3));

        token.Dispose();

        Assert.Null(read(1, 2, 3));
    }

    private sealed class QuoteSource
    {
        public event Quoted? Quoted;

        public event Func<int, int, int, string>? Asked;

        public Quoted? ReadQuoted() => Quoted;

        public Func<int, int, int, string>? ReadAsked() => Asked;
    }
}
