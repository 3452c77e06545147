using System.Runtime.CompilerServices;
using SafeRefs.Internal;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Internal;

/// <summary>
/// The library's one weak-link mechanism: who frees the handles and when. Gated: the claimer when nobody else is
/// admitted, otherwise the last admitted caller to leave; exactly once; nothing is admitted after the claim. Ungated:
/// only when its owner says so.
/// </summary>
[Collection(GcCollection.Name)]
public sealed class WeakLinkCoreTests
{
    [Fact]
    public void TryClaim_NobodyAdmitted_TheClaimerIsNotAdmittedAndFreesAtItsRelease()
    {
        var owner = new object();
        var holder = new Holder(owner, static () => { }, weak: null);

        Assert.True(holder.Core.TryClaim(out var admitted));
        Assert.False(admitted);
        Assert.Equal(0, holder.Core.AdmittedCount);
        Assert.False(holder.Core.IsFreed); // the claimer may still read the handles
        Assert.Same(owner, holder.Core.Owner);
        Assert.True(holder.Core.WhenIdleAsync().AsTask().IsCompleted);
        holder.Core.Release(admitted);

        Assert.True(holder.Core.IsFreed);
        Assert.False(holder.Core.TryClaim(out _));
        Assert.False(holder.Core.TryBeginInvoke(out _, out _));
        GC.KeepAlive(owner);
    }

    [Fact]
    public void TryClaim_DuringAnInvocation_TheInvocationsEndFrees()
    {
        var owner = new object();
        var holder = new Holder(owner, static () => { }, weak: null);
        Assert.True(holder.Core.TryBeginInvoke(out var admittedOwner, out _));

        Assert.True(holder.Core.TryClaim(out var admitted));
        Assert.True(admitted);
        Assert.Equal(2, holder.Core.AdmittedCount);
        holder.Core.Release(admitted);
        Assert.False(holder.Core.IsFreed);
        Assert.Equal(1, holder.Core.AdmittedCount);
        Assert.False(holder.Core.TryBeginInvoke(out _, out _));

        holder.Core.Exit(); // the invocation returns
        Assert.True(holder.Core.IsFreed);
        Assert.Same(owner, admittedOwner);
    }

    // A claimer that reads nothing closes without being admitted: it frees at once when nobody is admitted...
    [Fact]
    public void Claim_NobodyAdmitted_FreesAtOnce()
    {
        var owner = new object();
        var holder = new Holder(owner, static () => { }, weak: null);

        Assert.True(holder.Core.Claim());

        Assert.True(holder.Core.IsFreed);
        Assert.False(holder.Core.Claim());
        Assert.False(holder.Core.TryClaim(out _));
        Assert.False(holder.Core.TryBeginInvoke(out _, out _));
        GC.KeepAlive(owner);
    }

    // ...and otherwise leaves the free to the invocation running at the claim.
    [Fact]
    public void Claim_DuringAnInvocation_TheInvocationsEndFrees()
    {
        var owner = new object();
        var holder = new Holder(owner, static () => { }, weak: null);
        Assert.True(holder.Core.TryBeginInvoke(out _, out _));

        Assert.True(holder.Core.Claim());
        Assert.False(holder.Core.IsFreed);
        Assert.False(holder.Core.TryBeginInvoke(out _, out _));

        holder.Core.Exit(); // the invocation returns
        Assert.True(holder.Core.IsFreed);
        Assert.Equal(0, holder.Core.AdmittedCount);
        GC.KeepAlive(owner);
    }

    // Control twin: without a claim, leaving frees nothing.
    [Fact]
    public void Exit_Control_WithoutAClaim_FreesNothing()
    {
        var owner = new object();
        var holder = new Holder(owner, static () => { }, weak: owner);
        Assert.True(holder.Core.TryBeginInvoke(out _, out _));
        holder.Core.Exit();
        Assert.True(holder.Core.TryEnter());
        Assert.Same(owner, holder.Core.Weak);
        holder.Core.Exit();

        Assert.False(holder.Core.IsFreed);
        GC.KeepAlive(owner);
    }

    [Fact]
    public void TryBeginInvoke_OwnerCollected_IsRefusedAndLeavesNobodyAdmitted()
    {
        var holder = CreateWithDeadOwner();
        GcAssert.FullCollect();

        Assert.False(holder.Core.TryBeginInvoke(out _, out _));
        Assert.Equal(0, holder.Core.AdmittedCount);
        Assert.True(holder.Core.TryClaim(out var admitted));
        holder.Core.Release(admitted);
        Assert.True(holder.Core.IsFreed);
    }

    // The handler lives exactly as long as the owner, and a freed core keeps nothing alive.
    [Fact]
    public void Handler_LivesWithTheOwner_AndIsReleasedOnceFreed()
    {
        var owner = new object();
        var (holder, handler) = CreateWithCapturingHandler(owner);
        GcAssert.NotCollected(handler);

        Assert.True(holder.Core.TryClaim(out var admitted));
        holder.Core.Release(admitted);

        GcAssert.Collected(handler, "a freed core still holds the handler");
        GC.KeepAlive(owner);
    }

    [Fact]
    public void FreeUngated_FreesAtOnce()
    {
        var owner = new object();
        var holder = new Holder(owner, static () => { }, weak: owner);
        holder.Core.FreeUngated();
        Assert.True(holder.Core.IsFreed);
        GC.KeepAlive(owner);
    }

    // A handler that cannot capture is held strongly beside a weak handle to the owner (the raise's cheap read): the
    // owner is still held weakly, and the invocation gets the owner and that handler.
    [Fact]
    public void RootedHandler_OwnerHeldWeakly()
    {
        var (holder, owner) = CreateWithRootedHandlerAndDeadOwner();

        GcAssert.Collected(owner, "a core with a non-capturing handler holds its owner strongly");
        Assert.False(holder.Core.TryBeginInvoke(out _, out _));
        Assert.Null(holder.Core.Owner);
        Assert.Equal(0, holder.Core.AdmittedCount);
    }

    // Control twin: a live owner comes back with the handler.
    [Fact]
    public void RootedHandler_Control_LiveOwner_IsInvokedWithTheHandler()
    {
        var owner = new object();
        Action handler = static () => { };
        var holder = new Holder(owner, handler, weak: null);

        Assert.True(holder.Core.TryBeginInvoke(out var admittedOwner, out var admittedHandler));
        Assert.Same(owner, admittedOwner);
        Assert.Same(handler, admittedHandler);
        holder.Core.Exit();
        Assert.True(holder.Core.TryClaim(out var admitted));
        holder.Core.Release(admitted);
        Assert.True(holder.Core.IsFreed);
    }

    [Fact]
    public void TryBeginInvoke_CapturingHandler_OwnerCollected_IsRefused()
    {
        var holder = CreateWithCapturingHandlerAndDeadOwner();
        GcAssert.FullCollect();

        Assert.False(holder.Core.TryBeginInvoke(out _, out _));
        Assert.Equal(0, holder.Core.AdmittedCount);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Holder Holder, WeakReference Owner) CreateWithRootedHandlerAndDeadOwner()
    {
        var owner = new object();
        return (new Holder(owner, static () => { }, weak: null), new WeakReference(owner));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Holder CreateWithCapturingHandlerAndDeadOwner()
    {
        var captured = new object();
        return new(new object(), () => GC.KeepAlive(captured), weak: null);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Holder CreateWithDeadOwner() => new(new object(), static () => { }, weak: null);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Holder Holder, WeakReference Handler) CreateWithCapturingHandler(object owner)
    {
        var captured = new object();
        Action handler = () => GC.KeepAlive(captured);
        return (new Holder(owner, handler, weak: null), new WeakReference(handler));
    }

    // The core is a mutable struct: keep it in a field of a class and call it in place.
    private sealed class Holder(object owner, Delegate handler, object? weak)
    {
        public WeakLinkCore Core = new(owner, handler, weak);
    }
}
