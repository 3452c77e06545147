using SafeRefs.Internal;
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

    private static int _next;

    public void RaiseChanged() => Changed?.Invoke(this, EventArgs.Empty);

    public void RaiseTicked(int value) => Ticked?.Invoke(this, value);

    public void Dispose() => IsDisposed = true;
}
