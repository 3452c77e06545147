namespace SafeRefs.Caching.Internal;

/// <summary>
/// A periodic timer that sweeps a cache's expired entries without any cache traffic. It holds the cache only
/// weakly: once the cache is collected, the next tick disposes the timer, so an abandoned cache neither stays
/// alive nor keeps a timer running.
/// </summary>
internal sealed class ExpirySweeper : IDisposable
{
    private readonly WeakReference<IExpirySweepable> _target;
    private readonly ITimer _timer;

    public ExpirySweeper(IExpirySweepable target, TimeProvider timeProvider, TimeSpan period)
    {
        _target = new WeakReference<IExpirySweepable>(target);
        using (ExecutionContext.SuppressFlow())
        {
            _timer = timeProvider.CreateTimer(static state => ((ExpirySweeper)state!).Tick(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        _timer.Change(period, period);
    }

    public void Dispose() => _timer.Dispose();

    private void Tick()
    {
        if (_target.TryGetTarget(out var target))
        {
            target.SweepExpired();
        }
        else
        {
            _timer.Dispose();
        }
    }
}
