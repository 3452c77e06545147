using System.Runtime.CompilerServices;
using SafeRefs.Diagnostics.Internal;
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
    /// <returns>A token holding <paramref name="source"/>, <paramref name="remove"/> and <paramref name="handler"/> strongly until disposed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/>, <paramref name="add"/>, <paramref name="remove"/> or <paramref name="handler"/> is <see langword="null"/>.</exception>
    /// <exception cref="ListenerLimitExceededException">The budget's action is <see cref="ListenerBudgetAction.Throw"/> and its limit is reached; nothing was attached.</exception>
    /// <exception cref="InvalidOperationException">The forwarder factory registered for <typeparamref name="THandler"/> returned <see langword="null"/>; nothing was attached.</exception>
    /// <remarks>
    /// <para>For <see cref="EventHandler"/>, <see cref="EventHandler{TEventArgs}"/>,
    /// <see cref="System.ComponentModel.PropertyChangedEventHandler"/>,
    /// <see cref="System.ComponentModel.PropertyChangingEventHandler"/>,
    /// <see cref="System.Collections.Specialized.NotifyCollectionChangedEventHandler"/>, <see cref="Action"/>,
    /// <see cref="Action{T}"/> and <see cref="Action{T1, T2}"/> events (the last three through their own overloads,
    /// which the compiler picks for them), the event holds a forwarder, not <paramref name="handler"/> itself (so <c>-= handler</c> does not remove it: dispose
    /// the token). After <see cref="Subscription.Dispose"/> returns, no invocation of the handler starts, even from a raise
    /// running on another thread; <see cref="Subscription.Dispose"/> never waits for a handler, not even one that is
    /// running, and <see cref="Subscription.DisposeAsync"/> waits for a running one, also after an earlier
    /// <see cref="Subscription.Dispose"/>.</para>
    /// <para>For any other delegate type the event holds the forwarder registered for that type through
    /// <see cref="EventForwarders.Register{THandler}"/>, with the same guarantees; a raise that the forwarder refuses
    /// returns <see langword="default"/> (and <see langword="default"/> in every <see langword="out"/> parameter). The
    /// SafeRefs source generator, shipped in this package, registers one for every concrete delegate type a compilation
    /// passes here; analyzer SR1012 reports the calls it cannot cover (a type parameter, a type generated code cannot
    /// name, a by-reference return).</para>
    /// <para>For a delegate type unknown at compile time and not registered the handler itself is added, with plain .NET event semantics: a
    /// raise on another thread that had already read the event's delegate may still call it once after
    /// <see cref="Subscription.Dispose"/> returns, and <see cref="Subscription.DisposeAsync"/> cannot wait for it.</para>
    /// <para>If <paramref name="add"/> or the registered forwarder factory throws, nothing is counted, a forwarder <paramref name="add"/> published anyway never starts the handler, and the exception propagates; if
    /// <paramref name="remove"/> throws, the exception propagates from <see cref="Subscription.Dispose"/>, and the handler
    /// is not started again through this token.</para>
    /// </remarks>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "Nothing has shipped; the EventHandler<TArgs> overload exists so the compiler picks the gated forwarder for that shape, with the same optional parameters.")]
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
        var counter = budget?.AcquireToAttach(source, eventName);
        EventSubscription token;
        try
        {
            // A registered forwarder factory is user code.
            token = EventSubscription.Create(source, remove, handler, counter);
        }
        catch
        {
            counter?.Decrement();
            throw;
        }

        return Attach(token, source, add, budget, counter);
    }

    /// <summary>
    /// Attaches <paramref name="handler"/> to an <see cref="EventHandler{TEventArgs}"/> event through
    /// <paramref name="add"/> and returns a token whose <see cref="Subscription.Dispose"/> calls <paramref name="remove"/>;
    /// the overload the compiler picks for such events (see
    /// <see cref="Event{TSource, THandler}(TSource, Action{TSource, THandler}, Action{TSource, THandler}, THandler, ListenerBudget?, string?)"/>
    /// for the contract).
    /// </summary>
    /// <typeparam name="TSource">The type of the object that declares the event.</typeparam>
    /// <typeparam name="TArgs">The event's argument type.</typeparam>
    /// <param name="source">The object whose event is subscribed.</param>
    /// <param name="add">Adds a handler to the event.</param>
    /// <param name="remove">Removes a handler from the event.</param>
    /// <param name="handler">The handler.</param>
    /// <param name="budget">Counts the listener per (source, event name) and reports a possible leak; <see langword="null"/> for none.</param>
    /// <param name="eventName">The event's name for the budget; by default the text of <paramref name="add"/>, reduced to the member name.</param>
    /// <returns>A token holding <paramref name="source"/>, <paramref name="remove"/> and <paramref name="handler"/> strongly until disposed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/>, <paramref name="add"/>, <paramref name="remove"/> or <paramref name="handler"/> is <see langword="null"/>.</exception>
    /// <exception cref="ListenerLimitExceededException">The budget's action is <see cref="ListenerBudgetAction.Throw"/> and its limit is reached; nothing was attached.</exception>
    /// <remarks>
    /// The event holds a forwarder: after <see cref="Subscription.Dispose"/> returns, no invocation of the handler starts;
    /// <see cref="Subscription.Dispose"/> never waits for a running handler and <see cref="Subscription.DisposeAsync"/> does.
    /// </remarks>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "Nothing has shipped; the EventHandler<TArgs> overload exists so the compiler picks the gated forwarder for that shape, with the same optional parameters.")]
    public static Subscription Event<TSource, TArgs>(
        TSource source,
        Action<TSource, EventHandler<TArgs>> add,
        Action<TSource, EventHandler<TArgs>> remove,
        EventHandler<TArgs> handler,
        ListenerBudget? budget = null,
        [CallerArgumentExpression(nameof(add))] string? eventName = null)
        where TSource : class
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(add);
        ArgumentNullException.ThrowIfNull(remove);
        ArgumentNullException.ThrowIfNull(handler);
        var counter = budget?.AcquireToAttach(source, eventName);
        return Attach(new EventHandlerSubscription<TSource, TArgs>(source, remove, handler, counter), source, add, budget, counter);
    }

    /// <summary>
    /// Attaches <paramref name="handler"/> to an <see cref="Action{T}"/> event through a forwarder; the overload the
    /// compiler picks for such events (see
    /// <see cref="Event{TSource, THandler}(TSource, Action{TSource, THandler}, Action{TSource, THandler}, THandler, ListenerBudget?, string?)"/>
    /// for the contract).
    /// </summary>
    /// <typeparam name="TSource">The type of the object that declares the event.</typeparam>
    /// <typeparam name="TArg">The event's argument type.</typeparam>
    /// <param name="source">The object whose event is subscribed.</param>
    /// <param name="add">Adds a handler to the event.</param>
    /// <param name="remove">Removes a handler from the event.</param>
    /// <param name="handler">The handler.</param>
    /// <param name="budget">Counts the listener per (source, event name) and reports a possible leak; <see langword="null"/> for none.</param>
    /// <param name="eventName">The event's name for the budget; by default the text of <paramref name="add"/>, reduced to the member name.</param>
    /// <returns>A token holding <paramref name="source"/>, <paramref name="remove"/> and <paramref name="handler"/> strongly until disposed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/>, <paramref name="add"/>, <paramref name="remove"/> or <paramref name="handler"/> is <see langword="null"/>.</exception>
    /// <exception cref="ListenerLimitExceededException">The budget's action is <see cref="ListenerBudgetAction.Throw"/> and its limit is reached; nothing was attached.</exception>
    /// <remarks>
    /// The event holds a forwarder: after <see cref="Subscription.Dispose"/> returns, no invocation of the handler starts;
    /// <see cref="Subscription.Dispose"/> never waits for a running handler and <see cref="Subscription.DisposeAsync"/> does.
    /// </remarks>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overload exists so the compiler picks the gated forwarder for that shape, with the same optional parameters.")]
    public static Subscription Event<TSource, TArg>(
        TSource source,
        Action<TSource, Action<TArg>> add,
        Action<TSource, Action<TArg>> remove,
        Action<TArg> handler,
        ListenerBudget? budget = null,
        [CallerArgumentExpression(nameof(add))] string? eventName = null)
        where TSource : class
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(add);
        ArgumentNullException.ThrowIfNull(remove);
        ArgumentNullException.ThrowIfNull(handler);
        var counter = budget?.AcquireToAttach(source, eventName);
        return Attach(new ActionSubscription<TSource, TArg>(source, remove, handler, counter), source, add, budget, counter);
    }

    /// <summary>
    /// Attaches <paramref name="handler"/> to an <see cref="Action{T1, T2}"/> event through a forwarder; the overload the
    /// compiler picks for such events (see
    /// <see cref="Event{TSource, THandler}(TSource, Action{TSource, THandler}, Action{TSource, THandler}, THandler, ListenerBudget?, string?)"/>
    /// for the contract).
    /// </summary>
    /// <typeparam name="TSource">The type of the object that declares the event.</typeparam>
    /// <typeparam name="TArg1">The event's first argument type.</typeparam>
    /// <typeparam name="TArg2">The event's second argument type.</typeparam>
    /// <param name="source">The object whose event is subscribed.</param>
    /// <param name="add">Adds a handler to the event.</param>
    /// <param name="remove">Removes a handler from the event.</param>
    /// <param name="handler">The handler.</param>
    /// <param name="budget">Counts the listener per (source, event name) and reports a possible leak; <see langword="null"/> for none.</param>
    /// <param name="eventName">The event's name for the budget; by default the text of <paramref name="add"/>, reduced to the member name.</param>
    /// <returns>A token holding <paramref name="source"/>, <paramref name="remove"/> and <paramref name="handler"/> strongly until disposed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/>, <paramref name="add"/>, <paramref name="remove"/> or <paramref name="handler"/> is <see langword="null"/>.</exception>
    /// <exception cref="ListenerLimitExceededException">The budget's action is <see cref="ListenerBudgetAction.Throw"/> and its limit is reached; nothing was attached.</exception>
    /// <remarks>
    /// The event holds a forwarder: after <see cref="Subscription.Dispose"/> returns, no invocation of the handler starts;
    /// <see cref="Subscription.Dispose"/> never waits for a running handler and <see cref="Subscription.DisposeAsync"/> does.
    /// </remarks>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overload exists so the compiler picks the gated forwarder for that shape, with the same optional parameters.")]
    public static Subscription Event<TSource, TArg1, TArg2>(
        TSource source,
        Action<TSource, Action<TArg1, TArg2>> add,
        Action<TSource, Action<TArg1, TArg2>> remove,
        Action<TArg1, TArg2> handler,
        ListenerBudget? budget = null,
        [CallerArgumentExpression(nameof(add))] string? eventName = null)
        where TSource : class
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(add);
        ArgumentNullException.ThrowIfNull(remove);
        ArgumentNullException.ThrowIfNull(handler);
        var counter = budget?.AcquireToAttach(source, eventName);
        return Attach(new ActionSubscription<TSource, TArg1, TArg2>(source, remove, handler, counter), source, add, budget, counter);
    }

    /// <summary>
    /// Adds the token's forwarder and counts the attachment, then lets the budget warn; if <c>add</c> throws, closes
    /// the token's gate and gives a budget's place back, and nothing is reported.
    /// </summary>
    private static EventSubscription Attach<TSource, THandler>(EventSubscription token, TSource source, Action<TSource, THandler> add, ListenerBudget? budget, ListenerCount? counter)
        where TSource : class
        where THandler : Delegate
    {
        try
        {
            add(source, Unsafe.As<THandler>(token.Attached));
        }
        catch
        {
            // add may have published the forwarder before throwing; the caller gets no token to detach it.
            token.Abandon();
            counter?.Decrement();
            throw;
        }

        Metrics.SubscriptionInstruments.Attached();
        if (counter is not null)
        {
            budget!.Attached(source, counter);
        }

        return token;
    }
}
