using Microsoft.Extensions.Time.Testing;

namespace SafeRefs.Tests.Timers;

/// <summary>
/// A fake clock that keeps only the returned <see cref="ITimer"/> holding the callback and its state: the clock itself
/// holds them weakly. The fake and system clocks keep a scheduled timer's state alive, and a timer item's state holds its
/// timer, so under them the clock roots every armed item; under this one only what the library holds keeps an item
/// alive, so a test can show what that is.
/// </summary>
internal sealed class WeakStateTimeProvider(FakeTimeProvider inner) : TimeProvider
{
    private static readonly TimerCallback Forward = static state =>
    {
        if (((WeakReference<Target>)state!).TryGetTarget(out var target))
        {
            target.Callback(target.State);
        }
    };

    public FakeTimeProvider Inner { get; } = inner;

    public override DateTimeOffset GetUtcNow() => Inner.GetUtcNow();

    public override long GetTimestamp() => Inner.GetTimestamp();

    public override long TimestampFrequency => Inner.TimestampFrequency;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var target = new Target(callback, state);
        return new HoldingTimer(target, Inner.CreateTimer(Forward, new WeakReference<Target>(target), dueTime, period));
    }

    private sealed record Target(TimerCallback Callback, object? State);

    // Holds the target strongly: the timer's holder keeps the callback alive, the clock does not.
    private sealed class HoldingTimer(Target target, ITimer inner) : ITimer
    {
        public Target Target { get; } = target;

        public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(dueTime, period);

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
