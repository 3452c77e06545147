using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// <c>Subscribe.Event</c> on delegate types it does not forward by itself keeps its guarantees through the forwarder
/// registered for the type (<see cref="EventForwarders"/>): no start after <c>Dispose</c>, <c>DisposeAsync</c> waits,
/// a refused raise returns <see langword="default"/>.
/// </summary>
public sealed class SubscribeRegisteredForwarderTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    public SubscribeRegisteredForwarderTests() => HandForwarders.Ensure();

    [Fact]
    public async Task CustomDelegate_RaiserHadReadTheDelegate_HandlerDoesNotStartAfterDispose()
    {
        var source = new CustomSource();
        var calls = 0;
        var token = Subscribe.Event(source, static (s, h) => s.Weighed += h, static (s, h) => s.Weighed -= h, (Weighed)((_, _, _) => ++calls > 0));
        using var read = new ManualResetEventSlim();
        using var go = new ManualResetEventSlim();
        var raising = Task.Run(() =>
        {
            var handler = source.ReadWeighed();
            read.Set();
            go.Wait(Bound);
            return handler?.Invoke(1, "x", 2.0);
        });
        Assert.True(read.Wait(Bound));

        // Control: the delegate the raiser read reaches the handler while the token is live.
        Assert.True(source.ReadWeighed()!(1, "x", 2.0));
        Assert.Equal(1, calls);

        token.Dispose();
        go.Set();
        var result = await raising.WaitAsync(Bound);

        Assert.Equal(1, calls);
        Assert.False(result);
        Assert.Null(source.ReadWeighed());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CustomDelegate_DisposeAsyncWhileTheHandlerRuns_Waits(bool disposeFirst)
    {
        var source = new CustomSource();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var token = Subscribe.Event(source, static (s, h) => s.Weighed += h, static (s, h) => s.Weighed -= h, (Weighed)((_, _, _) =>
        {
            entered.Set();
            return release.Wait(Bound);
        }));
        await SubscribeForwardedShapesTests.WaitsForTheRunningHandler(token, () => source.ReadWeighed()?.Invoke(1, "x", 2.0), entered, release, disposeFirst);
    }

    [Fact]
    public void Func_AfterDispose_TheReadDelegateReturnsDefault()
    {
        var source = new CustomSource();
        var token = Subscribe.Event(source, static (s, h) => s.Weighed += h, static (s, h) => s.Weighed -= h, (Weighed)((_, _, _) => true));
        var read = source.ReadWeighed()!;
        Assert.True(read(1, "x", 2.0));

        token.Dispose();

        Assert.False(read(1, "x", 2.0));
    }

    [Fact]
    public void RefOutIn_Forwarded_WhileLive_AndDefaultsAfterDispose()
    {
        var source = new CustomSource();
        var token = Subscribe.Event(source, static (s, h) => s.Counted += h, static (s, h) => s.Counted -= h, (Counted)((ref int total, out string? label, in long stamp) =>
        {
            total += (int)stamp;
            label = "seen";
            return 7;
        }));
        var read = source.ReadCounted()!;
        var total = 1;
        Assert.Equal(7, read(ref total, out var label, 2L));
        Assert.Equal(3, total);
        Assert.Equal("seen", label);

        token.Dispose();

        Assert.Equal(0, read(ref total, out label, 2L));
        Assert.Equal(3, total);
        Assert.Null(label);
    }

    [Fact]
    public void ActionOfThree_RaiserHadReadTheDelegate_HandlerDoesNotStartAfterDispose()
    {
        var source = new CustomSource();
        var calls = 0;
        var token = Subscribe.Event(source, static (s, h) => s.Moved += h, static (s, h) => s.Moved -= h, (Action<int, string, double>)((_, _, _) => calls++));
        var read = source.ReadMoved()!;
        read(1, "x", 2.0);
        Assert.Equal(1, calls);

        token.Dispose();
        read(1, "x", 2.0);

        Assert.Equal(1, calls);
    }

    [Fact]
    public void RegisteredType_EventHoldsAForwarder_NotTheHandler()
    {
        var source = new CustomSource();
        Weighed handler = (_, _, _) => true;
        using var token = Subscribe.Event(source, static (s, h) => s.Weighed += h, static (s, h) => s.Weighed -= h, handler);

        Assert.NotSame(handler, source.ReadWeighed());
    }

    [Fact]
    public void Register_SecondFactoryForAType_IsIgnored()
    {
        Assert.False(EventForwarders.Register<Weighed>(static _ => (_, _, _) => true));

        var source = new CustomSource();
        var token = Subscribe.Event(source, static (s, h) => s.Weighed += h, static (s, h) => s.Weighed -= h, (Weighed)((_, _, _) => true));
        var read = source.ReadWeighed()!;
        token.Dispose();
        Assert.False(read(1, "x", 2.0));
    }

    [Fact]
    public void Register_NullFactory_Throws() =>
        Assert.Throws<ArgumentNullException>(() => EventForwarders.Register<Weighed>(null!));

    [Fact]
    public void FactoryReturnsNull_Throws_NothingAttachedAndTheBudgetPlaceIsGivenBack()
    {
        Assert.True(EventForwarders.Register<NullForwarded>(static _ => null!));
        var source = new CustomSource();
        var budget = new ListenerBudget(maxListeners: 1) { OnExceeded = ListenerBudgetAction.Throw };

        Assert.Throws<InvalidOperationException>(() =>
            SubscribeUnseen(source, static (s, h) => s.NullForwarded += h, static (s, h) => s.NullForwarded -= h, (NullForwarded)(() => { }), budget, "NullForwarded"));

        Assert.Null(source.ReadNullForwarded());
        Assert.Equal(0, budget.Count(source, "NullForwarded"));
    }

    [Fact]
    public void FactoryThrows_ThrowsToTheCaller_TheBudgetPlaceIsGivenBack()
    {
        Assert.True(EventForwarders.Register<ThrowForwarded>(static _ => throw new InvalidTimeZoneException("factory")));
        var source = new CustomSource();
        var budget = new ListenerBudget(maxListeners: 1) { OnExceeded = ListenerBudgetAction.Throw };

        var thrown = Assert.Throws<InvalidTimeZoneException>(() =>
            SubscribeUnseen(source, static (s, h) => s.ThrowForwarded += h, static (s, h) => s.ThrowForwarded -= h, (ThrowForwarded)(() => { }), budget, "ThrowForwarded"));

        Assert.Equal("factory", thrown.Message);
        Assert.Null(source.ReadThrowForwarded());
        Assert.Equal(0, budget.Count(source, "ThrowForwarded"));
    }

    // The generator sees no concrete type here (SR1012 says so), so the factories these tests register are the ones used.
#pragma warning disable SR1012
    private static Subscription SubscribeUnseen<THandler>(CustomSource source, Action<CustomSource, THandler> add, Action<CustomSource, THandler> remove, THandler handler, ListenerBudget budget, string eventName)
        where THandler : Delegate =>
        Subscribe.Event(source, add, remove, handler, budget, eventName);
#pragma warning restore SR1012

    public delegate void NullForwarded();

    public delegate void ThrowForwarded();

    private sealed class CustomSource
    {
        public event Weighed? Weighed;

        public event Counted? Counted;

        public event Action<int, string, double>? Moved;

        public event NullForwarded? NullForwarded;

        public event ThrowForwarded? ThrowForwarded;

        public Weighed? ReadWeighed() => Weighed;

        public Counted? ReadCounted() => Counted;

        public Action<int, string, double>? ReadMoved() => Moved;

        public NullForwarded? ReadNullForwarded() => NullForwarded;

        public ThrowForwarded? ReadThrowForwarded() => ThrowForwarded;
    }
}
