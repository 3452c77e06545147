using Microsoft.Extensions.Time.Testing;

namespace SafeRefs.Tests.Timers;

/// <summary>
/// A fake clock whose timers report every <see cref="ITimer.Change"/> to <see cref="OnChange"/> and can be fired on
/// demand: a test reproduces "the timer fired right after it was re-armed, before the re-arming thread went on".
/// </summary>
internal sealed class HookedTimeProvider(FakeTimeProvider inner) : TimeProvider
{
    public FakeTimeProvider Inner { get; } = inner;

    /// <summary>Called after each <see cref="ITimer.Change"/> of a timer of this clock, with the timer and its new due time.</summary>
    public Action<HookedTimer, TimeSpan>? OnChange { get; set; }

    /// <summary>Called at the start of each <see cref="ITimer.Change"/> of a timer of this clock, before the change.</summary>
    public Action<HookedTimer>? BeforeChange { get; set; }

    public override DateTimeOffset GetUtcNow() => Inner.GetUtcNow();

    public override long GetTimestamp() => Inner.GetTimestamp();

    public override long TimestampFrequency => Inner.TimestampFrequency;

    /// <summary>Called at the start of each <see cref="ITimer.Dispose"/> of a timer of this clock (the timer already
    /// counts as disposed): a test holds a disposal inside the clock.</summary>
    public Action<HookedTimer>? BeforeDispose { get; set; }

    /// <summary>When set, each timer's <see cref="ITimer.Dispose"/> throws it (after disposing the timer).</summary>
    public Exception? DisposeFailure { get; set; }

    /// <summary>When set, each timer's <see cref="ITimer.Change"/> throws it without changing the timer.</summary>
    public Exception? ChangeFailure { get; set; }

    /// <summary>When set, <see cref="CreateTimer"/> throws it instead of creating a timer.</summary>
    public Exception? CreateFailure { get; set; }

    /// <summary>Called with each new timer before <see cref="CreateTimer"/> returns it: a test holds a creation inside
    /// the clock, or fires the timer at once on the creating thread.</summary>
    public Action<HookedTimer>? OnCreate { get; set; }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (CreateFailure is { } failure)
        {
            throw failure;
        }

        var timer = new HookedTimer(this, Inner.CreateTimer(callback, state, dueTime, period), callback, state);
        OnCreate?.Invoke(timer);
        return timer;
    }

    internal sealed class HookedTimer(HookedTimeProvider clock, ITimer inner, TimerCallback callback, object? state) : ITimer
    {
        /// <summary>Runs the timer's callback now, on this thread.</summary>
        public void Fire() => callback(state);

        /// <summary>Gets whether the timer was disposed.</summary>
        public bool IsDisposed { get; private set; }

        /// <summary>Gets what the last <see cref="Change"/> returned (false: refused, the timer is disposed).</summary>
        public bool? LastChange { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            clock.BeforeChange?.Invoke(this);
            if (clock.ChangeFailure is { } failure)
            {
                throw failure;
            }

            var changed = inner.Change(dueTime, period);
            LastChange = changed;
            clock.OnChange?.Invoke(this, dueTime);
            return changed;
        }

        public void Dispose()
        {
            IsDisposed = true;
            clock.BeforeDispose?.Invoke(this);
            inner.Dispose();
            if (clock.DisposeFailure is { } failure)
            {
                throw failure;
            }
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
