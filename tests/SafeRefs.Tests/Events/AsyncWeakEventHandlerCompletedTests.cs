// EnclosingCallbacks.Frame.BeforeEndHook, which the tests here set (or are the control twins of), exists only in Debug
// builds (it would cost every call's end a static load): they compile and run in the Debug run of the suite, which CI
// runs too.
#if DEBUG
using SafeRefs.Events;
using SafeRefs.Events.Internal;
using SafeRefs.Internal;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

/// <summary>
/// An <see cref="AsyncWeakEvent{TArgs}"/> <c>Subscribe</c> handler's call ends when its task completes, not when the
/// raise's continuation gets to mark it: work the handler left running that disposes its token in between waits for the
/// raise to move on instead of faulting as "awaited inside its own handler". The window is held with
/// <see cref="EnclosingCallbacks.Frame.BeforeEndHook"/>; the left-running work is the handler's captured flow.
/// </summary>
[Collection(TimerHookCollection.Name)] // sets a process-wide hook
public sealed class AsyncWeakEventHandlerCompletedTests
{
    [Fact]
    public async Task TokenDisposeAsync_FromWorkTheHandlerLeftRunning_AfterItsTaskCompletedBeforeItsCallIsMarkedEnded_WaitsNeverFaults()
    {
        var held = new HeldHandler();
        var inWindow = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        EnclosingCallbacks.Frame.BeforeEndHook = frame =>
        {
            if (ReferenceEquals(frame.Source, held.Entry) && !inWindow.Task.IsCompleted)
            {
                // The handler's task has completed; the raise has not marked the call ended yet.
                inWindow.SetResult(held.DisposeFromTheHandlersFlow());
            }
        };
        Task disposedInTheWindow;
        Task raising;
        try
        {
            raising = held.Source.RaiseAsync(null, 1).AsTask(); // the handler starts and awaits its release
            held.Release.SetResult(); // it completes on the thread pool; then the raise ends the call
            disposedInTheWindow = await inWindow.Task.Bounded();
        }
        finally
        {
            EnclosingCallbacks.Frame.BeforeEndHook = null;
        }

        await raising.Bounded();
        var failure = await Record.ExceptionAsync(() => disposedInTheWindow.Bounded());
        Assert.Null(failure);
    }

    // Control twin: the same flow disposing while the handler still runs is inside the handler's own call, and faults.
    [Fact]
    public async Task Control_TokenDisposeAsync_FromTheHandlersFlowWhileTheHandlerRuns_Faults()
    {
        var held = new HeldHandler();
        var raising = held.Source.RaiseAsync(null, 1).AsTask();
        await held.Started.Task.Bounded();
        var disposing = held.DisposeFromTheHandlersFlow();
        held.Release.SetResult();

        await Assert.ThrowsAsync<InvalidOperationException>(() => disposing.Bounded());
        await raising.Bounded();
    }

    /// <summary>An event with one <c>Subscribe</c> handler that records its flow (what work it leaves running inherits)
    /// and awaits <see cref="Release"/>.</summary>
    private sealed class HeldHandler
    {
        private ExecutionContext? _handlerFlow;

        public HeldHandler()
        {
            Token = Source.Subscribe(this, static async (h, _, _, _) =>
            {
                h._handlerFlow = ExecutionContext.Capture();
                h.Started.SetResult();
                await h.Release.Task.ConfigureAwait(false);
            });
            Entry = ((WeakHandlerSubscription)Token).Entry;
        }

        public AsyncWeakEvent<int> Source { get; } = new();

        public Subscription Token { get; }

        public OwnerHandlerEntry Entry { get; }

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Calls the token's <c>DisposeAsync</c> from the handler's flow, as work the handler left running would.</summary>
        public Task DisposeFromTheHandlersFlow()
        {
            Task? disposing = null;
            ExecutionContext.Run(_handlerFlow!, _ => disposing = Token.DisposeAsync().AsTask(), null);
            return disposing!;
        }
    }
}
#endif
