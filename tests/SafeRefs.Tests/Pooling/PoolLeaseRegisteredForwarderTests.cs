using Microsoft.Extensions.ObjectPool;
using SafeRefs.Pooling;
using SafeRefs.Tests.Subscriptions;

namespace SafeRefs.Tests.Pooling;

/// <summary>
/// <c>On</c> handlers of delegate types the lease does not forward by itself (a custom delegate, an <c>Action</c> of
/// three arguments) go through the forwarder registered for the type: no start once the lease ended, even from a raise
/// that had read the event's delegate; a refused raise returns <see langword="default"/>.
/// </summary>
public sealed class PoolLeaseRegisteredForwarderTests
{
    public PoolLeaseRegisteredForwarderTests() => HandForwarders.Ensure();

    [Fact]
    public void CustomDelegate_RaiserHadReadTheDelegate_HandlerDoesNotStartAfterTheLeaseEnded()
    {
        var pool = NewPool();
        var calls = 0;
        var lease = pool.Rent();
        var source = lease.Value;
        lease.On(static (s, h) => s.Weighed += h, static (s, h) => s.Weighed -= h, (Weighed)((_, _, _) => ++calls > 0));
        var read = source.WeighedDelegate!; // a raiser on another thread has read the event's delegate
        Assert.True(read(1, "a", 2.0));

        lease.Dispose();
        using var next = pool.Rent();
        Assert.Same(source, next.Value);

        Assert.False(read(2, "b", 3.0)); // ... and calls it once the object is in its next lease
        Assert.Equal(1, calls);
        Assert.Null(source.WeighedDelegate);
    }

    [Fact]
    public void ActionOfThree_RaiserHadReadTheDelegate_HandlerDoesNotStartAfterTheLeaseEnded()
    {
        var pool = NewPool();
        var calls = 0;
        var lease = pool.Rent();
        var source = lease.Value;
        lease.On(static (s, h) => s.Moved += h, static (s, h) => s.Moved -= h, (Action<int, string, double>)((_, _, _) => calls++));
        var read = source.MovedDelegate!;
        read(1, "a", 2.0);

        lease.Dispose();
        read(2, "b", 3.0);

        Assert.Equal(1, calls);
    }

    private static GuardedObjectPool<CustomSource> NewPool() =>
        new(new DefaultObjectPool<CustomSource>(new DefaultPooledObjectPolicy<CustomSource>(), maximumRetained: 1));

    /// <summary>A pooled object with events of delegate types the lease does not forward by itself.</summary>
    public sealed class CustomSource
    {
        public event Weighed? Weighed;

        public event Action<int, string, double>? Moved;

        public Weighed? WeighedDelegate => Weighed;

        public Action<int, string, double>? MovedDelegate => Moved;
    }
}
