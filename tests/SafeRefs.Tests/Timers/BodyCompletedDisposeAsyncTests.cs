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
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inWindow = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        ExecutionContext? bodyFlow = null;
        var item = Start(kind, scope, async _ =>
        {
            bodyFlow = ExecutionContext.Capture(); // what work the body starts and leaves running inherits
            await release.Task.ConfigureAwait(false);
        });

        EnclosingCallbacks.Frame.BeforeEndHook = frame =>
        {
            if (ReferenceEquals(frame.Source, item) && !inWindow.Task.IsCompleted)
            {
                // The body's task has completed; its owner has not marked the call ended yet.
                Task? disposing = null;
                ExecutionContext.Run(bodyFlow!, _ => disposing = item.DisposeAsync().AsTask(), null);
                inWindow.SetResult(disposing!);
            }
        };
        Task disposedInTheWindow;
        try
        {
            clock.Advance(Second); // the body starts and awaits release
            release.SetResult(); // it completes on the thread pool; then its owner ends the call
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
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ExecutionContext? bodyFlow = null;
        var item = Start(kind, scope, async _ =>
        {
            bodyFlow = ExecutionContext.Capture();
            await release.Task.ConfigureAwait(false);
        });

        clock.Advance(Second);
        Task? disposing = null;
        ExecutionContext.Run(bodyFlow!, _ => disposing = item.DisposeAsync().AsTask(), null);
        release.SetResult();

        await Assert.ThrowsAsync<InvalidOperationException>(() => disposing!.Bounded());
    }

    private static IAsyncDisposable Start(string kind, TimerScope scope, Func<CancellationToken, ValueTask> body) =>
        kind == "timer" ? scope.After(Second, body) : scope.Loop(Second, body);
}
