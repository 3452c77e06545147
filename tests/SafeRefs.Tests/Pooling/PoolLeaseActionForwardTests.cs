using Microsoft.Extensions.ObjectPool;
using SafeRefs.Pooling;

namespace SafeRefs.Tests.Pooling;

/// <summary><c>Action&lt;T&gt;</c> and <c>Action&lt;T1, T2&gt;</c> events are forwarded through the lease gate.</summary>
public sealed class PoolLeaseActionForwardTests
{
    [Fact]
    public void ActionOfT_RaiserHadReadTheDelegate_HandlerDoesNotStartAfterTheLeaseEnded()
    {
        var pool = NewPool();
        var calls = new List<int>();
        var lease = pool.Rent();
        var source = lease.Value;
        lease.On(static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (Action<int>)calls.Add);
        source.RaiseChanged(1);
        var read = source.ChangedDelegate; // a raiser on another thread has read the event's delegate

        lease.Dispose();
        using var next = pool.Rent();
        Assert.Same(source, next.Value);
        read?.Invoke(2); // ... and calls it once the object is in its next lease

        Assert.Equal([1], calls);
        Assert.Null(source.ChangedDelegate);
    }

    [Fact]
    public void ActionOfT1T2_RaiserHadReadTheDelegate_HandlerDoesNotStartAfterTheLeaseEnded()
    {
        var pool = NewPool();
        var calls = new List<(int, string)>();
        var lease = pool.Rent();
        var source = lease.Value;
        lease.On(static (s, h) => s.Received += h, static (s, h) => s.Received -= h, (Action<int, string>)((n, text) => calls.Add((n, text))));
        source.RaiseReceived(1, "a");
        var read = source.ReceivedDelegate;

        lease.Dispose();
        using var next = pool.Rent();
        Assert.Same(source, next.Value);
        read?.Invoke(2, "b");

        Assert.Equal([(1, "a")], calls);
        Assert.Null(source.ReceivedDelegate);
    }

    private static GuardedObjectPool<ActionSource> NewPool() =>
        new(new DefaultObjectPool<ActionSource>(new DefaultPooledObjectPolicy<ActionSource>(), maximumRetained: 1));

    /// <summary>A pooled object with <c>Action</c>-typed events.</summary>
    public sealed class ActionSource
    {
        public event Action<int>? Changed;

        public event Action<int, string>? Received;

        public Action<int>? ChangedDelegate => Changed;

        public Action<int, string>? ReceivedDelegate => Received;

        public void RaiseChanged(int value) => Changed?.Invoke(value);

        public void RaiseReceived(int value, string text) => Received?.Invoke(value, text);
    }
}
