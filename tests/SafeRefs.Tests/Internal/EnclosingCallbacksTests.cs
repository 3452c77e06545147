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
        Assert.Same(before, first);
        Assert.True(EnclosingCallbacks.IsInside(outerSource));
        Assert.False(EnclosingCallbacks.IsInside(innerSource));

        var second = EnclosingCallbacks.Enter(innerSource);
        var innermost = EnclosingCallbacks.Innermost;
        Assert.NotNull(innermost);
        Assert.Same(innerSource, innermost.Source);
        Assert.Null(innermost.State);
        Assert.Same(second, innermost.Outer);
        Assert.Same(outerSource, second!.Source);
        Assert.Equal("outer state", second.State);
        Assert.True(EnclosingCallbacks.IsInside(innerSource));
        Assert.True(EnclosingCallbacks.IsInside(outerSource));

        EnclosingCallbacks.Exit(second);
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

    private static async Task<bool> IsInsideAfterAnAwaitAsync(object source)
    {
        await Task.Yield();
        return EnclosingCallbacks.IsInside(source);
    }
}
