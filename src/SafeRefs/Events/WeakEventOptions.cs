using System.Diagnostics.Metrics;
using SafeRefs.Subscriptions;

namespace SafeRefs.Events;

/// <summary>Options of a <see cref="WeakEvent{TArgs}"/>, <see cref="WeakDelegateEvent{TDelegate}"/> or <see cref="AsyncWeakEvent{TArgs}"/>.</summary>
/// <remarks>
/// <para><b>Holds</b> its values strongly. The event copies them when it is constructed: changing the options
/// afterwards does not affect events already created, so one instance can configure many events.</para>
/// <para><b>Thread safety:</b> not thread-safe for writes; configure it before sharing it. An
/// <see cref="ExceptionHandler"/> runs on each raising thread, possibly on several at once.</para>
/// <para><b>Dispose:</b> not disposable.</para>
/// </remarks>
public sealed class WeakEventOptions
{
    /// <summary>Gets or sets what <see cref="WeakEvent{TArgs}.Add"/> does with a capturing lambda.</summary>
    /// <value><see cref="ClosurePolicy.Throw"/> by default.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined <see cref="ClosurePolicy"/>.</exception>
    public ClosurePolicy CapturingLambdaWithoutOwner
    {
        get;
        set => field = value is ClosurePolicy.Throw or ClosurePolicy.Allow
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "Unknown ClosurePolicy.");
    } = ClosurePolicy.Throw;

    /// <summary>Gets or sets what a raise does when a handler throws an exception that <see cref="ExceptionHandler"/>
    /// does not mark handled.</summary>
    /// <value><see cref="HandlerExceptionMode.Propagate"/> by default.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined <see cref="HandlerExceptionMode"/>.</exception>
    public HandlerExceptionMode ExceptionMode
    {
        get;
        set => field = value is HandlerExceptionMode.Propagate or HandlerExceptionMode.ContinueAndAggregate
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "Unknown HandlerExceptionMode.");
    } = HandlerExceptionMode.Propagate;

    /// <summary>
    /// Gets or sets a callback that observes each exception a handler throws during a raise, on the raising thread,
    /// before <see cref="ExceptionMode"/> applies. It returns <see langword="true"/> to mark the exception handled: the
    /// exception is dropped and the raise goes on with the next handler, as if the handler had returned.
    /// <see langword="false"/> leaves it to <see cref="ExceptionMode"/>.
    /// </summary>
    /// <value><see langword="null"/> by default: no exception is handled. The callback should not throw; if it does,
    /// its exception propagates from the raise (to the raise's caller) and later handlers do not run. An
    /// <see cref="AsyncWeakEvent{TArgs}"/> does not offer the raise's own cancellation to it.</value>
    public Func<Exception, bool>? ExceptionHandler { get; set; }

    /// <summary>
    /// Gets or sets the listener budget that counts this event's live handlers (the event object is the source) and
    /// reports, or refuses, one too many: a leak alarm like Node's <c>setMaxListeners</c>.
    /// </summary>
    /// <value><see langword="null"/> (no counting) by default. A handler whose target or owner was collected gives its
    /// place back when its entry is dropped: before the budget judges the next add, or by a raise or a gen-2 sweep.</value>
    public ListenerBudget? Budget { get; set; }

    /// <summary>Gets or sets the event name reported by <see cref="Budget"/> and as the <c>saferefs.event.name</c> tag of the
    /// <c>saferefs.weak_event.*</c> instruments.</summary>
    /// <value><see langword="null"/> by default, reported as <c>(unnamed)</c>. Use a fixed name per event (such as
    /// <c>Orders.Changed</c>), never a per-instance or per-request value: every distinct name is a separate time series.</value>
    public string? Name { get; set; }

    /// <summary>Gets or sets the type that declares the event, named by <see cref="Budget"/>'s warnings, its refusals and
    /// the <c>saferefs.source.type</c> tag of <c>saferefs.listener.budget.exceeded</c>, so that an alarm says which class leaks.</summary>
    /// <value><see langword="null"/> by default: the weak event's own type (such as <c>WeakEvent&lt;Double&gt;</c>) is
    /// named. Set it with <see cref="Name"/>, for example <c>DeclaringType = typeof(Thermometer), Name = "Changed"</c>.</value>
    public Type? DeclaringType { get; set; }

    /// <summary>Gets or sets the factory whose <c>SafeRefs</c> meter records the event's metrics.</summary>
    /// <value><see langword="null"/> by default: the process-wide static <c>SafeRefs</c> meter. Pass the container's
    /// <see cref="IMeterFactory"/> to report through its meter instead (see <c>docs/diagnostics.md</c>).</value>
    public IMeterFactory? MeterFactory { get; set; }
}
