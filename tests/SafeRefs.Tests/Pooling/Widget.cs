using Microsoft.Extensions.ObjectPool;
using SafeRefs.Internal;
using SafeRefs.Pooling;

namespace SafeRefs.Tests.Pooling;

/// <summary>A pooled object with events whose listener counts can be read.</summary>
public sealed class Widget : IDisposable
{
    public event EventHandler? Changed;

    public event EventHandler<int>? Ticked;

    public int Id { get; } = Interlocked.Increment(ref _next);

    public bool IsDisposed { get; private set; }

    public EventHandler? ChangedDelegate => Changed;

    public int ChangedCount => Changed?.GetInvocationList().Length ?? 0;

    public int TickedCount => Ticked?.GetInvocationList().Length ?? 0;

    public int ListenerCount => ChangedCount + TickedCount;

    /// <summary>Gets a token cancelled by <see cref="RaiseClosing"/> (once per widget).</summary>
    public CancellationToken Closing => _closing.Token;

    private static int _next;

    private readonly CancellationTokenSource _closing = new();

    public void RaiseChanged() => Changed?.Invoke(this, EventArgs.Empty);

    public void RaiseTicked(int value) => Ticked?.Invoke(this, value);

    public void RaiseClosing() => _closing.Cancel();

    public void Dispose() => IsDisposed = true;

    /// <summary>Builds a guarded pool that keeps at most one widget, so that the next rent gets the same object back.</summary>
    public static GuardedObjectPool<Widget> PoolOfOne(GuardedObjectPoolOptions<Widget>? options = null) =>
        new(new DefaultObjectPool<Widget>(new DefaultPooledObjectPolicy<Widget>(), maximumRetained: 1), options);
}
