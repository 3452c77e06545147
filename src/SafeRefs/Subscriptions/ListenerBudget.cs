using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Internal;
using SafeRefs.Subscriptions.Internal;

namespace SafeRefs.Subscriptions;

/// <summary>
/// Counts the live listeners that were attached through it, per (source, event name), and reports a possible
/// listener leak when a count goes above <see cref="MaxListeners"/>: Node.js's <c>setMaxListeners</c> for .NET.
/// </summary>
/// <remarks>
/// <para><b>Holds</b> sources weakly: counts live in a <see cref="ConditionalWeakTable{TKey, TValue}"/> keyed by the
/// source, so a budget never keeps a source alive and a collected source's counts disappear with it. It holds its
/// logger and the <see cref="Exceeded"/> handlers strongly.</para>
/// <para><b>Counting:</b> a subscription made with a budget (for example
/// <see cref="Subscribe.Event{TSource, THandler}(TSource, Action{TSource, THandler}, Action{TSource, THandler}, THandler, ListenerBudget?, string?)"/>)
/// adds one when attached and removes one when disposed. Listeners attached behind the budget's back are not seen.
/// Event names taken from an <c>add</c> expression such as <c>(s, h) =&gt; s.Changed += h</c> are reduced to the
/// member name (<c>Changed</c>).</para>
/// <para><b>Exceeding:</b> with <see cref="ListenerBudgetAction.Warn"/> (default) the listener is attached, then
/// <see cref="Exceeded"/> is raised and a warning logged once per (source, event name), on the subscribing thread;
/// it never throws (an exception from an <see cref="Exceeded"/> handler is logged and swallowed). With
/// <see cref="ListenerBudgetAction.Throw"/> the listener is refused with <see cref="ListenerLimitExceededException"/>.
/// A <see cref="MaxListeners"/> of 0 means unlimited.</para>
/// <para><b>Thread safety:</b> all members are thread-safe. Not disposable.</para>
/// </remarks>
public sealed class ListenerBudget
{
    private readonly ConditionalWeakTable<object, SourceListeners> _sources = new();
    private readonly ILogger _logger;
    private int _maxListeners;
    private int _onExceeded;
    private SourceListeners? _last;
    private IMeterFactory? _meterFactory;
    private Metrics _metrics = Metrics.Shared;

    /// <summary>Initializes a new instance of the <see cref="ListenerBudget"/> class.</summary>
    /// <param name="maxListeners">The most listeners per (source, event name) before a leak is reported; 0 = unlimited.</param>
    /// <param name="logger">Receives the "possible listener leak" warnings; <see langword="null"/> logs nothing.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxListeners"/> is negative.</exception>
    public ListenerBudget(int maxListeners = 10, ILogger? logger = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxListeners);
        _maxListeners = maxListeners;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Raised once per (source, event name) when its count first goes above <see cref="MaxListeners"/> with <see cref="ListenerBudgetAction.Warn"/>.</summary>
    /// <remarks>The sender is the budget. Raised synchronously on the thread that attached the listener.</remarks>
    public event EventHandler<ListenerLeakEventArgs>? Exceeded;

    /// <summary>Gets a process-wide budget: 10 listeners, <see cref="ListenerBudgetAction.Warn"/>, no logger.</summary>
    /// <value>A shared instance; changing its settings affects every user.</value>
    public static ListenerBudget Default { get; } = new();

    /// <summary>Gets or sets the most live listeners per (source, event name) before a leak is reported.</summary>
    /// <value>10 by default; 0 means unlimited.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int MaxListeners
    {
        get => Volatile.Read(ref _maxListeners);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            Volatile.Write(ref _maxListeners, value);
        }
    }

    /// <summary>Gets the factory whose <c>SafeRefs</c> meter records <c>saferefs.listener.budget.exceeded</c> for this budget.</summary>
    /// <value><see langword="null"/> by default: the process-wide static <c>SafeRefs</c> meter (see <c>docs/diagnostics.md</c>).</value>
    public IMeterFactory? MeterFactory
    {
        get => _meterFactory;
        init
        {
            _meterFactory = value;
            _metrics = Metrics.For(value);
        }
    }

    /// <summary>Gets or sets what happens when a count goes above <see cref="MaxListeners"/>.</summary>
    /// <value><see cref="ListenerBudgetAction.Warn"/> by default.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined <see cref="ListenerBudgetAction"/>.</exception>
    public ListenerBudgetAction OnExceeded
    {
        get => (ListenerBudgetAction)Volatile.Read(ref _onExceeded);
        set
        {
            if (value is < ListenerBudgetAction.Warn or > ListenerBudgetAction.Ignore)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Unknown ListenerBudgetAction.");
            }

            Volatile.Write(ref _onExceeded, (int)value);
        }
    }

    /// <summary>Gets the number of live listeners attached through this budget to <paramref name="source"/>'s event.</summary>
    /// <param name="source">The event source.</param>
    /// <param name="eventName">The event's name (or the <c>add</c> expression text).</param>
    /// <returns>The count; 0 for a source or event never seen.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="eventName"/> is <see langword="null"/>.</exception>
    public int Count(object source, string eventName)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(eventName);
        return _sources.TryGetValue(source, out var listeners) ? listeners.Find(eventName)?.Current ?? 0 : 0;
    }

    /// <summary>
    /// Adds <paramref name="listeners"/> listeners to (source, event) in one step, judged together (the parts of a
    /// multicast delegate), for a caller that attaches them next: refuses them now (Throw), but leaves a warning to
    /// <see cref="Attached"/>, so that the warning comes after the attach, and an attach that fails (a disposed
    /// source's <c>add</c>) reports nothing and does not use up the once-per-(source, event) warning.
    /// </summary>
    /// <param name="source">The counted source.</param>
    /// <param name="eventName">The event name.</param>
    /// <param name="reportedType">The type named in reports (a weak event's declaring class); <see langword="null"/>: the source's type.</param>
    /// <param name="listeners">How many listeners are attached together; at least 1.</param>
    /// <exception cref="ListenerLimitExceededException">Refused; the count is unchanged.</exception>
    internal ListenerCount AcquireToAttach(object source, string? eventName, Type? reportedType = null, int listeners = 1)
    {
        var counter = CounterFor(source, eventName);
        var count = counter.Add(listeners);
        var max = Volatile.Read(ref _maxListeners);
        if (max > 0 && count > max && OnExceeded == ListenerBudgetAction.Throw)
        {
            OnAboveLimit(source, counter, count, max, reportedType, listeners);
        }

        return counter;
    }

    /// <summary>The listeners counted by <see cref="AcquireToAttach"/> are attached: warns if the count is above the
    /// limit (never throws; an action changed to Throw meanwhile refuses nothing that is already attached).</summary>
    internal void Attached(object source, ListenerCount counter, Type? reportedType = null)
    {
        var count = counter.Current;
        var max = Volatile.Read(ref _maxListeners);
        if (max > 0 && count > max && OnExceeded == ListenerBudgetAction.Warn)
        {
            OnAboveLimit(source, counter, count, max, reportedType);
        }
    }

    /// <summary>Gets the counter of (source, event) without counting.</summary>
    internal ListenerCount CounterFor(object source, string? eventName)
    {
        var key = eventName ?? "(unnamed)";
        var listeners = _last;
        if (listeners is null || !listeners.Source.TryGetTarget(out var cached) || !ReferenceEquals(cached, source))
        {
            if (!_sources.TryGetValue(source, out listeners))
            {
                listeners = _sources.GetValue(source, static s => new SourceListeners(s));
            }

            _last = listeners;
        }

        return listeners.GetOrAdd(key);
    }

    /// <summary>
    /// Judges a count that is above <paramref name="max"/>: warns once per counter, or (for Throw) gives back the
    /// places the refused attach took and throws.
    /// </summary>
    /// <param name="source">The counted source.</param>
    /// <param name="counter">Its counter.</param>
    /// <param name="count">The count, above <paramref name="max"/>.</param>
    /// <param name="max">The limit.</param>
    /// <param name="reportedType">The type named in reports; <see langword="null"/>: the source's type.</param>
    /// <param name="taken">The places the attach took in <paramref name="count"/>.</param>
    private void OnAboveLimit(object source, ListenerCount counter, int count, int max, Type? reportedType = null, int taken = 1)
    {
        var sourceType = reportedType ?? source.GetType();
        switch (OnExceeded)
        {
            case ListenerBudgetAction.Throw:
                counter.Add(-taken);
                try
                {
                    _metrics.Exceeded(sourceType, counter.EventName, "throw");
                    if (_logger.IsEnabled(LogLevel.Error))
                    {
                        Log.ListenerRefused(_logger, TypeNames.Display(sourceType), counter.EventName, count, max);
                    }
                }
#pragma warning disable CA1031 // The subscriber gets the refusal, not the logger's failure.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    Metrics.SubscriptionInstruments.ReportFailed(ex, TypeNames.Display(sourceType), counter.EventName);
                }

                throw new ListenerLimitExceededException(sourceType, counter.EventName, count, max);
            case ListenerBudgetAction.Warn:
                if (counter.TryMarkWarned())
                {
                    Warn(source, sourceType, counter.EventName, count, max);
                }

                break;
            default:
                break;
        }
    }

    private void Warn(object source, Type sourceType, string eventName, int count, int max)
    {
        var typeName = TypeNames.Display(sourceType);

        // The logger and metric listeners are user code: a warning never fails the subscription it reports.
        try
        {
            _metrics.Exceeded(sourceType, eventName, "warn");
            Log.ListenerLeakSuspected(_logger, typeName, eventName, count, max);
        }
#pragma warning disable CA1031 // Warn never throws (see the class remarks).
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Metrics.SubscriptionInstruments.ReportFailed(ex, typeName, eventName);
        }

        var handlers = Exceeded;
        if (handlers is null)
        {
            return;
        }

        try
        {
            handlers(this, new ListenerLeakEventArgs(source, sourceType, eventName, count, max));
        }
#pragma warning disable CA1031 // Warn never throws: a failing Exceeded handler is logged, not propagated.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            try
            {
                Log.ExceededHandlerFailed(_logger, ex, typeName, eventName);
            }
#pragma warning disable CA1031 // Warn never throws, even when its logger does.
            catch (Exception logFailure)
#pragma warning restore CA1031
            {
                Metrics.SubscriptionInstruments.ReportFailed(logFailure, typeName, eventName);
            }
        }
    }
}
