namespace SafeRefs.Internal;

/// <summary>Argument checks and flow-suppressed timer creation shared by the timer scope types.</summary>
internal static class TimerGuard
{
    // ITimer implementations accept at most uint.MaxValue - 1 milliseconds.
    private const double MaxMilliseconds = uint.MaxValue - 1.0;

    /// <summary>A due time: zero or positive, or <see cref="Timeout.InfiniteTimeSpan"/> when <paramref name="allowInfinite"/>.</summary>
    public static void Due(TimeSpan value, bool allowInfinite, string paramName)
    {
        if (value == Timeout.InfiniteTimeSpan && allowInfinite)
        {
            return;
        }

        if (value < TimeSpan.Zero || value.TotalMilliseconds > MaxMilliseconds)
        {
            throw new ArgumentOutOfRangeException(paramName, value,
                allowInfinite
                    ? "Must be zero or positive (at most about 49.7 days), or Timeout.InfiniteTimeSpan."
                    : "Must be zero or positive (at most about 49.7 days).");
        }
    }

    /// <summary>A period of a repeating timer: strictly positive and finite.</summary>
    public static void Period(TimeSpan value, string paramName)
    {
        if (value <= TimeSpan.Zero || value.TotalMilliseconds > MaxMilliseconds)
        {
            throw new ArgumentOutOfRangeException(paramName, value, "Must be positive (at most about 49.7 days).");
        }
    }

    /// <summary>Creates a timer without capturing the caller's <see cref="ExecutionContext"/>.</summary>
    public static ITimer Create(TimeProvider timeProvider, TimerCallback callback, object state, TimeSpan due, TimeSpan period)
    {
        if (ExecutionContext.IsFlowSuppressed())
        {
            return timeProvider.CreateTimer(callback, state, due, period);
        }

        using (ExecutionContext.SuppressFlow())
        {
            return timeProvider.CreateTimer(callback, state, due, period);
        }
    }
}
