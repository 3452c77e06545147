using System.Runtime.CompilerServices;
using SafeRefs.Internal;
using SafeRefs.Subscriptions.Internal;

namespace SafeRefs.Subscriptions;

/// <summary>
/// Attaches listeners and returns a <see cref="Subscription"/> that detaches them: plain events, weak events,
/// cancellation callbacks, change tokens and observables.
/// </summary>
/// <remarks>
/// <para><b>Holds</b> nothing itself; each returned <see cref="Subscription"/> states what it holds.</para>
/// <para><b>Thread safety:</b> all methods are thread-safe as far as the underlying source's add and remove are.</para>
/// </remarks>
public static partial class Subscribe
{
    /// <summary>
    /// Attaches <paramref name="handler"/> to a plain .NET event through <paramref name="add"/> and returns a token whose
    /// <see cref="Subscription.Dispose"/> calls <paramref name="remove"/>. Reflection-free: pass static lambdas such as
    /// <c>static (s, h) =&gt; s.Changed += h</c> and <c>static (s, h) =&gt; s.Changed -= h</c>.
    /// </summary>
    /// <typeparam name="TSource">The type of the object that declares the event.</typeparam>
    /// <typeparam name="THandler">The event's delegate type.</typeparam>
    /// <param name="source">The object whose event is subscribed.</param>
    /// <param name="add">Adds a handler to the event.</param>
    /// <param name="remove">Removes a handler from the event.</param>
    /// <param name="handler">The handler.</param>
    /// <param name="budget">Counts the listener per (source, event name) and reports a possible leak; <see langword="null"/> for none.</param>
    /// <param name="eventName">The event's name for the budget; by default the text of <paramref name="add"/>, reduced to the member name.</param>
    /// <returns>
    /// A token holding <paramref name="source"/>, <paramref name="remove"/> and <paramref name="handler"/> strongly until
    /// disposed (one 48-byte allocation).
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/>, <paramref name="add"/>, <paramref name="remove"/> or <paramref name="handler"/> is <see langword="null"/>.</exception>
    /// <exception cref="ListenerLimitExceededException">The budget's action is <see cref="ListenerBudgetAction.Throw"/> and its limit is reached; nothing was attached.</exception>
    /// <remarks>
    /// After <see cref="Subscription.Dispose"/> returns, no raise that starts later invokes the handler; a raise on
    /// another thread that had already read the event's delegate may still call it once (plain .NET event semantics).
    /// If <paramref name="add"/> throws, nothing is counted and the exception propagates.
    /// </remarks>
    public static Subscription Event<TSource, THandler>(
        TSource source,
        Action<TSource, THandler> add,
        Action<TSource, THandler> remove,
        THandler handler,
        ListenerBudget? budget = null,
        [CallerArgumentExpression(nameof(add))] string? eventName = null)
        where TSource : class
        where THandler : Delegate
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(add);
        ArgumentNullException.ThrowIfNull(remove);
        ArgumentNullException.ThrowIfNull(handler);
        if (budget is null)
        {
            add(source, handler);
            var detacher = Metrics.SubscriptionInstruments.TryAttach() ? EventDetacher<TSource, THandler>.Counted : EventDetacher<TSource, THandler>.Uncounted;
            return new Subscription(detacher, source, remove, handler);
        }

        return EventWithBudget(source, add, remove, handler, budget, eventName);
    }

    private static Subscription EventWithBudget<TSource, THandler>(
        TSource source,
        Action<TSource, THandler> add,
        Action<TSource, THandler> remove,
        THandler handler,
        ListenerBudget budget,
        string? eventName)
        where TSource : class
        where THandler : Delegate
    {
        var counter = budget.Acquire(source, eventName);
        try
        {
            add(source, handler);
        }
        catch
        {
            counter.Decrement();
            throw;
        }

        var counted = Metrics.SubscriptionInstruments.TryAttach();
        return new Subscription(BudgetedEventDetacher<TSource, THandler>.For(counter, counted), source, remove, handler);
    }
}
