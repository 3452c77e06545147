// EnclosingCallbacks.Frame.BeforeEndHook, which the tests here set (or are the control twins of), exists only in Debug
// builds (it would cost every call's end a static load): they compile and run in the Debug run of the suite, which CI
// runs too.
#if DEBUG
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Internal;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Timers;

/// <summary>
/// An asynchronous timer callback's or loop body's call ends when its task completes, not when its owner's continuation
/// gets to mark it: work the body left running that disposes the item in between waits for the item's end (which does
/// not wait for that work) instead of faulting as "awaited inside the item's own callback". The window is held with
/// <see cref="EnclosingCallbacks.Frame.BeforeEndHook"/>; the left-running work is the body's captured flow.
/// </summary>
[Collection(TimerHookCollection.Name)] // sets a process-wide hook
public sealed class BodyCompletedDisposeAsyncTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [Theory]
    [InlineData("timer")]
    [InlineData("loop")]
    public async Task DisposeAsync_FromWorkTheBodyLeftRunning_AfterTheBodyCompletedBeforeItsCallIsMarkedEnded_WaitsNeverFaults(string kind)
    {
        using var body = new HeldBody(kind);
        var inWindow = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        EnclosingCallbacks.Frame.BeforeEndHook = frame =>
        {
            if (ReferenceEquals(frame.Source, body.Item) && !inWindow.Task.IsCompleted)
            {
                // The body's task has completed; its owner has not marked the call ended yet.
                inWindow.SetResult(body.DisposeFromTheBodysFlow());
            }
        };
        Task disposedInTheWindow;
        try
        {
            body.Clock.Advance(Second); // the body starts and awaits its release
            body.Release.SetResult(); // it completes on the thread pool; then its owner ends the call
            disposedInTheWindow = await inWindow.Task.Bounded();
        }
        finally
        {
            EnclosingCallbacks.Frame.BeforeEndHook = null;
        }

        var failure = await Record.ExceptionAsync(() => disposedInTheWindow.Bounded());
        Assert.Null(failure);
    }

    // Control twin: the same flow disposing while the body still runs is inside the item's own call, and faults.
    [Theory]
    [InlineData("timer")]
    [InlineData("loop")]
    public async Task Control_DisposeAsync_FromTheBodysFlowWhileTheBodyRuns_Faults(string kind)
    {
        using var body = new HeldBody(kind);
        body.Clock.Advance(Second);
        var disposing = body.DisposeFromTheBodysFlow();
        body.Release.SetResult();

        await Assert.ThrowsAsync<InvalidOperationException>(() => disposing.Bounded());
    }

    /// <summary>A timer or loop on a fake clock whose asynchronous body records its flow (what work it leaves running
    /// inherits) and awaits <see cref="Release"/>.</summary>
    private sealed class HeldBody : IDisposable
    {
        private readonly TimerScope _scope;
        private ExecutionContext? _bodyFlow;

        public HeldBody(string kind)
        {
            _scope = new TimerScope(Clock);
            Func<CancellationToken, ValueTask> body = async _ =>
            {
                _bodyFlow = ExecutionContext.Capture();
                await Release.Task.ConfigureAwait(false);
            };
            Item = kind == "timer" ? _scope.After(Second, body) : _scope.Loop(Second, body);
        }

        public FakeTimeProvider Clock { get; } = new();

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IAsyncDisposable Item { get; }

        /// <summary>Calls the item's <c>DisposeAsync</c> from the body's flow, as work the body left running would.</summary>
        public Task DisposeFromTheBodysFlow()
        {
            Task? disposing = null;
            ExecutionContext.Run(_bodyFlow!, _ => disposing = Item.DisposeAsync().AsTask(), null);
            return disposing!;
        }

        public void Dispose() => _scope.Dispose();
    }
}
#endif
