using SafeRefs.Internal;

namespace SafeRefs.Tests.Internal;

/// <summary>
/// The gate behind "no invocation starts after Dispose returns" (weak links, weak-event <c>Subscribe</c> entries and
/// the strong tokens), driven step by step from two threads without sleeps: the raiser's side is called directly, so
/// it can be stopped exactly between its check and its call, which a real raise cannot be without a hook in its hot path.
/// </summary>
public sealed class InvocationGateTests
{
    [Fact]
    public async Task Close_WaitsForACallerBetweenCheckAndCall_ThenNoneStarts()
    {
        var gate = new Holder();
        Assert.True(gate.Gate.TryEnter()); // the raiser passed its check and is about to call the handler

        var closer = Task.Factory.StartNew(() => gate.Gate.Close(), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(SpinWait.SpinUntil(() => gate.Gate.IsClosed, TimeSpan.FromSeconds(30)));

        // The close bit is set, and the raiser is still between its check and its call: Close must not have returned.
        Assert.False(closer.IsCompleted);
        gate.Gate.BeginRun(); // the raiser commits: its invocation was admitted before Close returned
        Assert.True(await closer);

        Assert.False(gate.Gate.TryEnter());
        Assert.False(gate.Gate.TryBeginRun());
        Assert.Equal(1, gate.Gate.RunningCount);

        // DisposeAsync: waits for the running invocation, not for the refused ones.
        var idle = gate.Gate.WhenIdleAsync().AsTask();
        Assert.False(idle.IsCompleted);
        gate.Gate.EndRun();
        await idle;
        Assert.Equal(0, gate.Gate.RunningCount);
    }

    [Fact]
    public async Task Close_CallerThatBacksOff_ReleasesClose()
    {
        var gate = new Holder();
        Assert.True(gate.Gate.TryEnter());
        var closer = Task.Factory.StartNew(() => gate.Gate.Close(), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(SpinWait.SpinUntil(() => gate.Gate.IsClosed, TimeSpan.FromSeconds(30)));
        Assert.False(closer.IsCompleted);
        gate.Gate.Exit(); // the raiser found the owner collected: it will not call
        Assert.True(await closer);
        Assert.True(gate.Gate.WhenIdleAsync().AsTask().IsCompleted);
    }

    // Strong tokens count themselves as running in one step: Close never waits for them, and a handler that disposes
    // its own token (Close from inside the run) returns at once.
    [Fact]
    public void TryBeginRun_CloseFromInsideTheRun_DoesNotWait_LaterCallsRefused()
    {
        var gate = new Holder();
        Assert.True(gate.Gate.TryBeginRun());
        Assert.True(gate.Gate.Close());
        Assert.False(gate.Gate.Close());
        Assert.False(gate.Gate.TryBeginRun());
        Assert.Equal(1, gate.Gate.RunningCount);
        var idle = gate.Gate.WhenIdleAsync().AsTask();
        Assert.False(idle.IsCompleted);
        gate.Gate.EndRun();
        Assert.True(idle.IsCompleted);
    }

    // The gate is a mutable struct: keep it in a field of a class and call it in place.
    private sealed class Holder
    {
        public InvocationGate Gate;
    }
}
