using System.Runtime.CompilerServices;
using SafeRefs.Internal;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Internal;

[Collection(GcCollection.Name)]
public sealed class Gen2CallbackTests
{
    [Fact]
    public void Register_TargetAlive_CalledAfterFullCollectionsUntilItReturnsFalse()
    {
        var target = new object();
        var calls = 0;
        Gen2Callback.Register(target, _ => ++calls < 2);

        GcAssert.FullCollect();
        GcAssert.FullCollect();

        Assert.Equal(2, calls);
        GC.KeepAlive(target);
    }

    [Fact]
    public void Register_DoesNotKeepTheTargetAlive()
    {
        var calls = new StrongBox<int>();
        var target = RegisterNew(calls);

        GcAssert.Collected(target, "the callback holds its target weakly");
        var afterCollected = calls.Value;
        GcAssert.FullCollect();
        Assert.Equal(afterCollected, calls.Value);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference RegisterNew(StrongBox<int> calls)
    {
        var target = new object();
        Gen2Callback.Register(target, _ =>
        {
            calls.Value++;
            return true;
        });
        return new WeakReference(target);
    }
}
