using SafeRefs.Internal;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Internal;

public sealed class EnclosingCallbacksTests
{
    [Fact]
    public void Enter_MarksTheFlowUntilExit_ANestedCallRestoresItsOuter()
    {
        var outerSource = new object();
        var innerSource = new object();
        var before = EnclosingCallbacks.Innermost;
        Assert.False(EnclosingCallbacks.IsInside(outerSource));

        var first = EnclosingCallbacks.Enter(outerSource, "outer state");
        Assert.Same(before, first.Outer);
        Assert.Same(first, EnclosingCallbacks.Innermost);
        Assert.True(EnclosingCallbacks.IsInside(outerSource));
        Assert.False(EnclosingCallbacks.IsInside(innerSource));

        var second = EnclosingCallbacks.Enter(innerSource);
        Assert.Same(second, EnclosingCallbacks.Innermost);
        Assert.Same(innerSource, second.Source);
        Assert.Null(second.State);
        Assert.Same(first, second.Outer);
        Assert.Same(outerSource, first.Source);
        Assert.Equal("outer state", first.State);
        Assert.True(EnclosingCallbacks.IsInside(innerSource));
        Assert.True(EnclosingCallbacks.IsInside(outerSource));

        EnclosingCallbacks.Exit(second);
        Assert.True(second.HasEnded);
        Assert.False(first.HasEnded);
        Assert.False(EnclosingCallbacks.IsInside(innerSource));
        Assert.True(EnclosingCallbacks.IsInside(outerSource));

        EnclosingCallbacks.Exit(first);
        Assert.False(EnclosingCallbacks.IsInside(outerSource));
        Assert.Same(before, EnclosingCallbacks.Innermost);
    }

    [Fact]
    public async Task Enter_FlowsIntoTheCallsContinuations_NotIntoAFlowStartedBefore()
    {
        var source = new object();
        using var check = new ManualResetEventSlim();
        var seenElsewhere = true;
        var other = new Thread(() =>
        {
            check.WaitBounded();
            seenElsewhere = EnclosingCallbacks.IsInside(source);
        });
        other.Start(); // captures the flow before the call is entered

        var outer = EnclosingCallbacks.Enter(source);
        bool seenAfterAwait;
        try
        {
            seenAfterAwait = await IsInsideAfterAnAwaitAsync(source).Bounded();
        }
        finally
        {
            EnclosingCallbacks.Exit(outer);
        }

        check.Set();
        other.JoinBounded();
        Assert.True(seenAfterAwait, "the mark did not flow into the callback's continuation");
        Assert.False(seenElsewhere, "a flow started before the call saw its mark");
        Assert.False(EnclosingCallbacks.IsInside(source));
    }

    // Work a call starts and leaves running inherits the call's frame: it is inside the call until the call ends (at
    // Exit for a synchronous call; at End, after Leave, for an asynchronous body that runs on), never after.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task WorkLeftRunning_IsInsideTheCallUntilTheCallEnds(bool asynchronousBody)
    {
        var source = new object();
        var firstLook = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var looked = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondLook = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var frame = EnclosingCallbacks.Enter(source);
        Task<bool> work;
        try
        {
            work = Task.Run(async () =>
            {
                await firstLook.Task.ConfigureAwait(false);
                looked.SetResult(EnclosingCallbacks.IsInside(source));
                await secondLook.Task.ConfigureAwait(false);
                return EnclosingCallbacks.IsInside(source);
            });
        }
        finally
        {
            if (asynchronousBody)
            {
                EnclosingCallbacks.Leave(frame);
            }
            else
            {
                EnclosingCallbacks.Exit(frame);
            }
        }

        Assert.False(EnclosingCallbacks.IsInside(source)); // the caller's own flow, after the call
        Assert.Equal(!asynchronousBody, frame.HasEnded);
        firstLook.SetResult();
        var insideBeforeTheEnd = await looked.Task.Bounded();
        frame.End(); // the asynchronous body has completed (for a synchronous call, a second End changes nothing)
        secondLook.SetResult();
        var insideAfterTheEnd = await work.Bounded();

        Assert.False(insideAfterTheEnd, "work the ended call left running still counted as inside it");
        Assert.Equal(asynchronousBody, insideBeforeTheEnd);
    }

    private static async Task<bool> IsInsideAfterAnAwaitAsync(object source)
    {
        await Task.Yield();
        return EnclosingCallbacks.IsInside(source);
    }
}
