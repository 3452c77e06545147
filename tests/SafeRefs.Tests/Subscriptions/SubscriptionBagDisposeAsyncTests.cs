using Microsoft.Extensions.Time.Testing;
using SafeRefs.Events;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// <c>SubscriptionBag.DisposeAsync</c> after or during an earlier disposal of the bag still waits for an item's handler
/// that is running, as the item's own <c>DisposeAsync</c> after its <c>Dispose</c> does. The handler is held on a thread
/// of its own; the waits are bounded.
/// </summary>
public sealed class SubscriptionBagDisposeAsyncTests
{
    [Fact]
    public async Task DisposeThenDisposeAsync_WaitsForTheRunningHandler()
    {
        using var running = RunningHandler.Start();
        running.Bag.Dispose();
        var waited = running.Bag.DisposeAsync().AsTask();
        var completedWhileHandlerRuns = waited.IsCompleted;
        await running.ReleaseAsync();
        await waited.Bounded();
        Assert.False(completedWhileHandlerRuns, "bag.DisposeAsync after bag.Dispose completed while an item's handler still ran");
    }

    [Fact]
    public async Task ConcurrentDisposeAsync_BothWaitForTheRunningHandler()
    {
        using var running = RunningHandler.Start();
        var first = running.Bag.DisposeAsync().AsTask();
        var second = running.Bag.DisposeAsync().AsTask();
        var firstCompletedWhileHandlerRuns = first.IsCompleted;
        var secondCompletedWhileHandlerRuns = second.IsCompleted;
        await running.ReleaseAsync();
        await first.Bounded();
        await second.Bounded();
        Assert.False(firstCompletedWhileHandlerRuns, "setup: the first DisposeAsync must wait");
        Assert.False(secondCompletedWhileHandlerRuns, "a concurrent second bag.DisposeAsync completed while an item's handler still ran");
    }

    // Control twin: the same item alone, disposed then disposed again asynchronously, waits; the bag must keep that.
    [Fact]
    public async Task Control_TokenDisposeThenDisposeAsync_WaitsForTheRunningHandler()
    {
        using var running = RunningHandler.Start();
        running.Token.Dispose();
        var waited = running.Token.DisposeAsync().AsTask();
        var completedWhileHandlerRuns = waited.IsCompleted;
        await running.ReleaseAsync();
        await waited.Bounded();
        Assert.False(completedWhileHandlerRuns);
    }

    // Control twin: once the handler has returned, the later DisposeAsync completes at once.
    [Fact]
    public async Task Control_DisposeThenDisposeAsync_NoHandlerRunning_CompletesAtOnce()
    {
        using var running = RunningHandler.Start();
        running.Bag.Dispose();
        await running.ReleaseAsync();
        Assert.True(running.Bag.DisposeAsync().AsTask().IsCompleted);
    }

    public enum TimerItem
    {
        Timer,
        Scope,
        Loop,
        TimerInNestedBag,
    }

    // A disposed bag keeps its timer items and nested bags as it keeps its tokens: a later DisposeAsync (a pool lease's
    // end of a bag the user disposed) waits for their running callback. Control twin: the callback has returned.
    [Theory]
    [InlineData(TimerItem.Timer, true)]
    [InlineData(TimerItem.Scope, true)]
    [InlineData(TimerItem.Loop, true)]
    [InlineData(TimerItem.TimerInNestedBag, true)]
    [InlineData(TimerItem.Timer, false)]
    [InlineData(TimerItem.TimerInNestedBag, false)]
    public async Task DisposeThenDisposeAsync_WaitsForARunningTimerCallback(TimerItem item, bool running)
    {
        var clock = new FakeTimeProvider();
        using var outer = new TimerScope(clock);
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var bag = new SubscriptionBag();
        var due = TimeSpan.FromSeconds(1);
        void Callback()
        {
            entered.Set();
            release.WaitBounded();
        }

        switch (item)
        {
            case TimerItem.Timer:
                bag.Add(outer.After(due, Callback));
                break;
            case TimerItem.Scope:
                bag.Add(new TimerScope(clock)).After(due, Callback);
                break;
            case TimerItem.Loop:
                bag.Add(outer.Loop(due, _ =>
                {
                    Callback();
                    return ValueTask.CompletedTask;
                }));
                break;
            default:
                bag.Add(new SubscriptionBag()).Add(outer.After(due, Callback));
                break;
        }

        var ticking = Task.Factory.StartNew(() => clock.Advance(due), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        entered.WaitBounded();
        if (!running)
        {
            release.Set();
            await ticking.Bounded();
        }

        bag.Dispose();
        var waited = bag.DisposeAsync().AsTask();
        var completedAtOnce = waited.IsCompleted;
        release.Set();
        await ticking.Bounded();
        await waited.Bounded();
        Assert.True(completedAtOnce != running, running
            ? "bag.DisposeAsync after bag.Dispose completed while a timer item's callback still ran"
            : "bag.DisposeAsync after bag.Dispose waited though no callback ran");
    }

    // An earlier bag.DisposeAsync awaits an AsyncWeakEvent token's running handler; that handler awaits
    // bag.DisposeAsync: the later call must not wait for the earlier one (which waits for this handler) but fault as the
    // token's own DisposeAsync does inside its handler. Control twin: the handler's call is the first disposal.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DisposeAsyncInsideAnItemsAsyncHandler_WhileAnEarlierDisposalWaitsForIt_Faults(bool earlierDisposal)
    {
        var ev = new AsyncWeakEvent<int>();
        var owner = new object();
        var bag = new SubscriptionBag();
        var inHandler = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inner = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        bag.Add(ev.Subscribe(owner, async (o, sender, value, ct) =>
        {
            inHandler.TrySetResult();
            await go.Task.ConfigureAwait(false);
            var disposal = bag.DisposeAsync().AsTask();
            inner.TrySetResult(disposal);
            await disposal.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
        }));

        var raising = ev.RaiseAsync(null, 1).AsTask();
        await inHandler.Task.Bounded();
        var first = earlierDisposal ? bag.DisposeAsync().AsTask() : null;
        go.SetResult();
        var disposalInHandler = await inner.Task.Bounded();
        var error = await Assert.ThrowsAsync<AggregateException>(() => disposalInHandler.Bounded());
        await raising.Bounded();
        if (first is not null)
        {
            await first.Bounded();
        }

        GC.KeepAlive(owner);
        Assert.IsType<InvalidOperationException>(Assert.Single(error.InnerExceptions));
    }

    /// <summary>A bag holding one <c>Subscribe.Event</c> token whose handler is running, held, on a thread of its own.</summary>
    private sealed class RunningHandler : IDisposable
    {
        private readonly ManualResetEventSlim _entered = new();
        private readonly ManualResetEventSlim _release = new();
        private Task _raising = Task.CompletedTask;

        private RunningHandler()
        {
        }

        private event EventHandler? Changed;

        public SubscriptionBag Bag { get; } = new();

        public Subscription Token { get; private set; } = null!;

        public static RunningHandler Start()
        {
            var running = new RunningHandler();
            running.Token = Subscribe.Event(running, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) =>
            {
                running._entered.Set();
                running._release.WaitBounded();
            }));
            running.Bag.Add(running.Token);
            running._raising = Task.Factory.StartNew(() => running.Changed?.Invoke(running, EventArgs.Empty), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            running._entered.WaitBounded();
            return running;
        }

        /// <summary>Lets the handler return and waits for the raise to end.</summary>
        public Task ReleaseAsync()
        {
            _release.Set();
            return _raising.Bounded();
        }

        public void Dispose()
        {
            _release.Set();
            _raising.WaitBounded();
            Bag.Dispose();
            _entered.Dispose();
            _release.Dispose();
        }
    }
}
