using Microsoft.Extensions.ObjectPool;

namespace SafeRefs.Tests.Pooling;

/// <summary>A pool policy whose <c>Return</c> signals it started and then waits to be released.</summary>
internal sealed class BlockingReturnPolicy(ManualResetEventSlim inReturn, ManualResetEventSlim release) : PooledObjectPolicy<Widget>
{
    public override Widget Create() => new();

    public override bool Return(Widget obj)
    {
        inReturn.Set();
        release.Wait(TimeSpan.FromSeconds(30));
        return true;
    }
}
