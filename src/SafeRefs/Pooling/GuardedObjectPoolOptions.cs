using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using SafeRefs.Subscriptions;

namespace SafeRefs.Pooling;

/// <summary>Settings of a <see cref="GuardedObjectPool{T}"/>.</summary>
/// <typeparam name="T">The pooled type.</typeparam>
/// <remarks>
/// <b>Holds</b> the probe, logger and clock strongly. <b>Thread safety:</b> read by the pool when it is created (and
/// the probe on each rent and return); do not change it while the pool is in use.
/// </remarks>
public sealed class GuardedObjectPoolOptions<T>
    where T : class
{
    private int _maxListenersPerEvent = 10;
    private ListenerBudgetAction _onExceeded = ListenerBudgetAction.Warn;
    private LeakAction _onLeakSuspected = LeakAction.WarnAndDiscard;

    /// <summary>Gets or sets the most listeners one lease may attach to one event of the object.</summary>
    /// <value>10 by default; 0 means unlimited (Node semantics).</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int MaxListenersPerEvent
    {
        get => _maxListenersPerEvent;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _maxListenersPerEvent = value;
        }
    }

    /// <summary>Gets or sets what happens when a lease goes above <see cref="MaxListenersPerEvent"/>.</summary>
    /// <value><see cref="ListenerBudgetAction.Warn"/> by default: warn once per (object, event).</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is not defined.</exception>
    public ListenerBudgetAction OnExceeded
    {
        get => _onExceeded;
        set
        {
            if (value is < ListenerBudgetAction.Warn or > ListenerBudgetAction.Ignore)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Unknown ListenerBudgetAction.");
            }

            _onExceeded = value;
        }
    }

    /// <summary>
    /// Gets or sets a function that counts the listeners currently on an object, to catch attachments made behind the
    /// lease (for example <c>c =&gt; c.ListenerCount</c>).
    /// </summary>
    /// <value><see langword="null"/> by default: no check.</value>
    public Func<T, int>? ListenerCountProbe { get; set; }

    /// <summary>Gets or sets what happens when the probe finds more listeners at return than at rent.</summary>
    /// <value><see cref="LeakAction.WarnAndDiscard"/> by default.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is not defined.</exception>
    public LeakAction OnLeakSuspected
    {
        get => _onLeakSuspected;
        set
        {
            if (value is < LeakAction.Warn or > LeakAction.Throw)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Unknown LeakAction.");
            }

            _onLeakSuspected = value;
        }
    }

    /// <summary>Gets or sets the logger for listener-leak warnings.</summary>
    /// <value><see langword="null"/> by default: no logging.</value>
    public ILogger? Logger { get; set; }

    /// <summary>Gets or sets the factory whose <c>SafeRefs</c> meter records the pool's metrics
    /// (<c>saferefs.pool.*</c> and <c>saferefs.listener.budget.exceeded</c>).</summary>
    /// <value><see langword="null"/> by default: the process-wide static <c>SafeRefs</c> meter.
    /// <c>AddGuardedObjectPool</c> fills it from the container.</value>
    public IMeterFactory? MeterFactory { get; set; }

    /// <summary>Gets or sets the clock of each lease's <see cref="PoolLease{T}.Timers"/>.</summary>
    /// <value><see langword="null"/> by default, meaning <see cref="TimeProvider.System"/>.</value>
    public TimeProvider? TimeProvider { get; set; }
}
