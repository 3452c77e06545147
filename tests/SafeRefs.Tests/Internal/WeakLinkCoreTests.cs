using System.Runtime.CompilerServices;
using SafeRefs.Internal;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Internal;

/// <summary>
/// The library's one weak-link mechanism, the handles of one weak subscription: the handler lives exactly as long as the
/// owner, the owner and the extra object are held weakly, and the handles are freed once, after which a read throws.
/// Who may read and who frees is the holder's rule (a weak link's gate: <c>WeakLinkNoStartAfterDisposeTests</c>).
/// </summary>
[Collection(GcCollection.Name)]
public sealed class WeakLinkCoreTests
{
    // The handles check that they are allocated (a freed weak handle throws NullReferenceException, a freed dependent
    // handle InvalidOperationException): a read after the free fails loudly in every build.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FreeUngated_FreesTheHandles_AReadAfterwardsThrows(bool capturing)
    {
        var owner = new object();
        Action handler = capturing ? () => GC.KeepAlive(owner) : static () => { };
        var holder = new Holder(owner, handler, weak: owner);
        Assert.False(holder.Core.IsFreed);

        holder.Core.FreeUngated();

        Assert.True(holder.Core.IsFreed);
        Assert.ThrowsAny<SystemException>(() => holder.Core.Owner);
        Assert.ThrowsAny<SystemException>(() => holder.Core.TryRead(out _, out _));
        GC.KeepAlive(owner);
    }

    // Control twin: an unfreed core reads the owner, the handler and the extra object.
    [Fact]
    public void TryRead_Control_NotFreed_ReadsOwnerHandlerAndWeak()
    {
        var owner = new object();
        var extra = new object();
        var captured = new object();
        Action handler = () => GC.KeepAlive(captured);
        var holder = new Holder(owner, handler, weak: extra);

        Assert.True(holder.Core.TryRead(out var readOwner, out var readHandler));
        Assert.Same(owner, readOwner);
        Assert.Same(handler, readHandler);
        Assert.Same(owner, holder.Core.Owner);
        Assert.Same(extra, holder.Core.Weak);
        Assert.False(holder.Core.IsFreed);
        GC.KeepAlive(extra);
    }

    [Fact]
    public void Weak_NoneGiven_IsNull()
    {
        var owner = new object();
        var holder = new Holder(owner, static () => { }, weak: null);
        Assert.Null(holder.Core.Weak);
        holder.Core.FreeUngated();
        Assert.True(holder.Core.IsFreed);
        GC.KeepAlive(owner);
    }

    [Fact]
    public void TryRead_OwnerCollected_IsFalse()
    {
        var holder = CreateWithDeadOwner();
        GcAssert.FullCollect();

        Assert.False(holder.Core.TryRead(out _, out _));
        Assert.Null(holder.Core.Owner);
    }

    // The handler lives exactly as long as the owner, and a freed core keeps nothing alive.
    [Fact]
    public void Handler_LivesWithTheOwner_AndIsReleasedOnceFreed()
    {
        var owner = new object();
        var (holder, handler) = CreateWithCapturingHandler(owner);
        GcAssert.NotCollected(handler);

        holder.Core.FreeUngated();

        GcAssert.Collected(handler, "a freed core still holds the handler");
        GC.KeepAlive(owner);
    }

    // A handler that cannot capture is held strongly beside a weak handle to the owner (the raise's cheap read): the
    // owner is still held weakly.
    [Fact]
    public void RootedHandler_OwnerHeldWeakly()
    {
        var (holder, owner) = CreateWithRootedHandlerAndDeadOwner();

        GcAssert.Collected(owner, "a core with a non-capturing handler holds its owner strongly");
        Assert.False(holder.Core.TryRead(out _, out _));
        Assert.Null(holder.Core.Owner);
    }

    // Control twin: a live owner comes back with the handler.
    [Fact]
    public void RootedHandler_Control_LiveOwner_IsReadWithTheHandler()
    {
        var owner = new object();
        Action handler = static () => { };
        var holder = new Holder(owner, handler, weak: null);

        Assert.True(holder.Core.TryRead(out var readOwner, out var readHandler));
        Assert.Same(owner, readOwner);
        Assert.Same(handler, readHandler);
        holder.Core.FreeUngated();
        Assert.True(holder.Core.IsFreed);
    }

    [Fact]
    public void TryRead_CapturingHandler_OwnerCollected_IsFalse()
    {
        var holder = CreateWithCapturingHandlerAndDeadOwner();
        GcAssert.FullCollect();

        Assert.False(holder.Core.TryRead(out _, out _));
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
    private sealed class Holder
    {
        public WeakLinkCore Core;

        public Holder(object owner, Delegate handler, object? weak) => Core.Initialize(owner, handler, weak);
    }
}
