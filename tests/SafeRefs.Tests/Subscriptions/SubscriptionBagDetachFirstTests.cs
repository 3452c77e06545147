using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// <c>SubscriptionBag.DisposeAsync</c> disposes every token (and timer item, nested bag) before it awaits any running
/// callback: while a later-added token's handler runs, an earlier-added token is already detached.
/// </summary>
public sealed class SubscriptionBagDetachFirstTests
{
    // Control twin (running false): nothing to wait for, the disposal completes at once. The first raise shows that the
    // earlier token's handler is reached before the disposal.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DisposeAsync_WhileALaterTokensHandlerRuns_DetachesTheEarlierTokenAtOnce(bool running)
    {
        var bag = new BagOfTwoHandlers(new SubscriptionBag());
        var startsBefore = await bag.RaiseEarlierAsync();
        if (running)
        {
            await bag.StartLaterHandlerAsync();
        }

        var disposing = bag.Bag.DisposeAsync().AsTask();
        var completedAtOnce = disposing.IsCompleted;
        var starts = await bag.RaiseEarlierAsync();
        await bag.ReleaseAsync();
        await disposing.Bounded();

        Assert.Equal((1, !running), (startsBefore, completedAtOnce));
        Assert.True(starts == 1, "the earlier token's handler started after bag.DisposeAsync() returned");
    }

    // A first disposal is held in a Lifetime callback (before it disposes any item) while the later token's handler runs;
    // a DisposeAsync meanwhile disposes both tokens before awaiting that handler. Control twin (no DisposeAsync): the
    // earlier token's handler still starts, as the held first disposal has not reached it.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DisposeAsync_DuringAHeldDisposal_WhileALaterTokensHandlerRuns_DetachesTheEarlierTokenAtOnce(bool disposeAsync)
    {
        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var bag = new BagOfTwoHandlers(new SubscriptionBag());
        using var holding = bag.Bag.Lifetime.Register(() =>
        {
            held.Set();
            release.WaitBounded();
        });
        await bag.StartLaterHandlerAsync();
        var first = Task.Run(bag.Bag.Dispose);
        held.WaitBounded();

        var second = disposeAsync ? bag.Bag.DisposeAsync().AsTask() : Task.CompletedTask;
        var starts = await bag.RaiseEarlierAsync();
        release.Set();
        await first.Bounded();
        await bag.ReleaseAsync();
        await second.Bounded();

        Assert.Equal(disposeAsync ? 0 : 1, starts);
    }
}
