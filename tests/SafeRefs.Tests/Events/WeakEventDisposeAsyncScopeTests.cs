using SafeRefs.Events;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

/// <summary>
/// <c>DisposeAsync</c> of a weak event's <c>Subscribe</c> token waits for its own running handler, not for the rest of
/// the raise: it completes once the raise has moved on to the next handler, while that one still runs (so a later
/// handler of the same raise may wait for it without waiting for itself).
/// </summary>
public sealed class WeakEventDisposeAsyncScopeTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DisposeAsync_CompletesWhenTheRaiseMovesOnToTheNextHandler(bool nextIsSubscribe)
    {
        var source = new WeakEvent<int>();
        var first = new Blocker();
        var next = new Blocker();
        var token = source.Subscribe(first, static (b, _, _) => b.Block());
        using var nextToken = nextIsSubscribe ? source.Subscribe(next, static (b, _, _) => b.Block()) : null;
        if (!nextIsSubscribe)
        {
            source.Add(next.On);
        }

        var raising = Task.Factory.StartNew(() => source.Raise(null, 1), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            first.Entered.WaitBounded();
            var idle = token.DisposeAsync().AsTask();
            Assert.False(idle.IsCompleted, "DisposeAsync must wait for the running handler");

            first.Release.Set();
            next.Entered.WaitBounded();
            await idle.Bounded(); // the next handler is still running
            Assert.False(raising.IsCompleted);
        }
        finally
        {
            first.Release.Set();
            next.Release.Set();
        }

        await raising.Bounded();
        GC.KeepAlive(first);
        GC.KeepAlive(next);
    }

    // Control twin: with no next handler to move on to, DisposeAsync completes when the raise ends, not before.
    [Fact]
    public async Task DisposeAsync_Control_LastHandler_CompletesWhenTheRaiseEnds()
    {
        var source = new WeakEvent<int>();
        var first = new Blocker();
        var token = source.Subscribe(first, static (b, _, _) => b.Block());
        var raising = Task.Factory.StartNew(() => source.Raise(null, 1), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            first.Entered.WaitBounded();
            var idle = token.DisposeAsync().AsTask();
            Assert.False(idle.IsCompleted, "DisposeAsync must wait for the running handler");
            first.Release.Set();
            await idle.Bounded();
        }
        finally
        {
            first.Release.Set();
        }

        await raising.Bounded();
        GC.KeepAlive(first);
    }

    private sealed class Blocker
    {
        public ManualResetEventSlim Entered { get; } = new();

        public ManualResetEventSlim Release { get; } = new();

        public void Block()
        {
            Entered.Set();
            Release.WaitBounded();
        }

        public void On(object? sender, int args) => Block();
    }
}
