
namespace SafeRefs.Timers.Internal;

/// <summary>
/// A child scope's place in its parent's table. It holds the child only weakly, so a child scope dropped without
/// <c>Dispose</c> is collected (and its timers retire) like any other scope; while the child lives, disposing the
/// parent disposes it and waits for it.
/// </summary>
internal sealed class ChildScopeMember(WeakReference<TimerScope> child) : IScopeMember
{
    public int Index { get; set; } = -1;

    public bool IsClosed => !child.TryGetTarget(out var scope) || scope.IsDisposed;

    public bool IsBusy => child.TryGetTarget(out var scope) && ((IScopeMember)scope).IsBusy;

    public void CloseFromScope(bool report)
    {
        if (child.TryGetTarget(out var scope))
        {
            ((IScopeMember)scope).CloseFromScope(report);
        }
    }

    public ValueTask WhenIdleAsync() => child.TryGetTarget(out var scope) ? ((IScopeMember)scope).WhenIdleAsync() : default;
}
