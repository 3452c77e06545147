using SafeRefs.Events;
using SafeRefs.Events.Internal;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

/// <summary>
/// "After Dispose returns, no invocation of the handler starts" for the <c>Subscribe</c> tokens of the weak events
/// (<see cref="DisposeRaceSoak"/>).
/// </summary>
[Collection(SoakCollection.Name)]
public sealed class WeakEventSubscribeSoakTests
{
    [Fact]
    public void WeakEvent_NoInvocationStartsAfterDisposeReturned()
    {
        var source = new WeakEvent<int>();
        var (rounds, violations) = Run(
            () => source.Raise(null, 1),
            round => source.Subscribe(round, static (r, _, _) => r.Invoked()));
        Assert.True(rounds >= 100, $"only {rounds} rounds ran");
        Assert.Equal(0, violations);
        Assert.Equal(0, source.Count);
    }

    [Fact]
    public void WeakDelegateEvent_NoInvocationStartsAfterDisposeReturned()
    {
        var source = new WeakDelegateEvent<EventHandler>();
        var (rounds, violations) = Run(
            () => source.Raise(null, EventArgs.Empty),
            round => source.Subscribe(round, (_, _) => round.Invoked()));
        Assert.True(rounds >= 100, $"only {rounds} rounds ran");
        Assert.Equal(0, violations);
    }

    [Fact]
    public void AsyncWeakEvent_NoInvocationStartsAfterDisposeReturned()
    {
        var source = new AsyncWeakEvent<int>();
        var (rounds, violations) = Run(
            () => source.RaiseAsync(null, 1).Bounded().GetAwaiter().GetResult(),
            round => source.Subscribe(round, static (r, _, _, _) =>
            {
                r.Invoked();
                return ValueTask.CompletedTask;
            }));
        Assert.True(rounds >= 100, $"only {rounds} rounds ran");
        Assert.Equal(0, violations);
    }

    private static (int Rounds, int Violations) Run(Action raise, Func<DisposeRaceRound, Subscription> subscribe) =>
        DisposeRaceSoak.Run(raise, subscribe, static token => (((WeakHandlerSubscription)token).Entry).RunningCount);
}
