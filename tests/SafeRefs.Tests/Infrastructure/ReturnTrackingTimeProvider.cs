namespace SafeRefs.Tests.Infrastructure;

/// <summary>
/// The system clock, with each timer callback counted while it runs, for child-process scenarios whose failure mode is a
/// crash on a timer thread: the scenario waits until no callback runs instead of sleeping "to give a crash a chance".
/// A callback that lets an exception escape never counts as returned, so the wait fails (if the escaped exception has
/// not ended the process first): a crash cannot pass unnoticed, however late it comes in the callback.
/// </summary>
internal sealed class ReturnTrackingTimeProvider : TimeProvider
{
    private readonly object _gate = new(); // Monitor.Wait/PulseAll: a Lock cannot be waited on
    private int _running;
    private int _returned;

    /// <summary>Gets the number of callbacks that returned normally.</summary>
    public int Returned
    {
        get
        {
            lock (_gate)
            {
                return _returned;
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        System.CreateTimer(s => Run(callback, s), state, dueTime, period);

    /// <summary>
    /// Waits, at most <paramref name="bound"/>, until no callback runs: every callback that started before the call has
    /// then returned normally.
    /// </summary>
    /// <returns><see langword="false"/> if one still runs, or never returned because an exception escaped it.</returns>
    public bool WaitUntilNoneRuns(TimeSpan bound)
    {
        var deadline = Environment.TickCount64 + (long)bound.TotalMilliseconds;
        lock (_gate)
        {
            while (_running != 0)
            {
                var left = deadline - Environment.TickCount64;
                if (left <= 0)
                {
                    return false;
                }

                Monitor.Wait(_gate, TimeSpan.FromMilliseconds(left));
            }

            return true;
        }
    }

    private void Run(TimerCallback callback, object? state)
    {
        lock (_gate)
        {
            _running++;
        }

        callback(state); // an exception escaping it skips the count below on purpose

        lock (_gate)
        {
            _running--;
            _returned++;
            Monitor.PulseAll(_gate);
        }
    }
}
