using System.ComponentModel;

namespace SafeRefs.Subscriptions;

/// <summary>
/// Registers gated forwarders for delegate types that <see cref="Subscribe.Event{TSource, THandler}(TSource, Action{TSource, THandler}, Action{TSource, THandler}, THandler, ListenerBudget?, string?)"/> does not forward
/// by itself. The SafeRefs source generator registers one for every concrete delegate type passed to it in a
/// compilation; register one by hand only for a type the generator cannot see (a type parameter at the call site).
/// </summary>
/// <remarks>
/// <para>A registered forwarder gives <c>Subscribe.Event</c> on events of that type the guarantees it gives the types it
/// forwards by itself: after <see cref="Subscription.Dispose"/> returns no invocation of the handler starts, and
/// <see cref="Subscription.DisposeAsync"/> waits for a running one. A raise that the gate refuses returns
/// <see langword="default"/> (and <see langword="default"/> in every <see langword="out"/> parameter).</para>
/// <para>A forwarder for a delegate type <c>D(int x, out string y) → bool</c>, by hand:</para>
/// <code>
/// EventForwarders.Register&lt;D&gt;(static gate =&gt; (int x, out string y) =&gt;
/// {
///     if (gate.TryEnter(out var state) is D handler)
///     {
///         try { return handler(x, out y); }
///         finally { gate.Leave(state); }
///     }
///     y = default!;
///     return default;
/// });
/// </code>
/// <para><b>Thread safety:</b> thread-safe; the first registration for a type wins and later ones are ignored.</para>
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class EventForwarders
{
    /// <summary>Registers the forwarder factory of <typeparamref name="THandler"/> unless one is registered already.</summary>
    /// <typeparam name="THandler">The delegate type.</typeparam>
    /// <param name="factory">Creates, for a subscription's gate, the delegate the event holds: it calls the handler the
    /// gate admits, between <see cref="IEventForwarderGate.TryEnter"/> and <see cref="IEventForwarderGate.Leave"/>.
    /// Called once per subscription; it must not return <see langword="null"/>.</param>
    /// <returns><see langword="true"/> if this call registered the factory; <see langword="false"/> if one was registered before.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="factory"/> is <see langword="null"/>.</exception>
    public static bool Register<THandler>(Func<IEventForwarderGate, THandler> factory)
        where THandler : Delegate
    {
        ArgumentNullException.ThrowIfNull(factory);
        return Interlocked.CompareExchange(ref Registered<THandler>._factory, factory, null) is null;
    }

    /// <summary>Creates the forwarder registered for <typeparamref name="THandler"/> around <paramref name="gate"/>, or
    /// returns <see langword="null"/> when none is registered. Read by <c>Subscribe.Event</c> and a pool lease's
    /// <c>On</c> for the delegate types they do not forward by themselves.</summary>
    /// <exception cref="InvalidOperationException">The factory returned <see langword="null"/>.</exception>
    internal static THandler? Create<THandler>(IEventForwarderGate gate)
        where THandler : Delegate
    {
        var factory = Volatile.Read(ref Registered<THandler>._factory);
        return factory is null
            ? null
            : factory(gate) ?? throw new InvalidOperationException($"The forwarder factory registered for {typeof(THandler)} returned null.");
    }

    // A static generic field per delegate type: the subscribe path reads it without a lookup.
    private static class Registered<THandler>
        where THandler : Delegate
    {
        internal static Func<IEventForwarderGate, THandler>? _factory;
    }
}
