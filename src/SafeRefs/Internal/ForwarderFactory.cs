using SafeRefs.Subscriptions;

namespace SafeRefs.Internal;

/// <summary>
/// The forwarder factory registered for a delegate type through <see cref="EventForwarders.Register{THandler}"/>: a
/// static generic field, so the subscribe path reads it without a lookup. Read by <c>Subscribe.Event</c> and a pool
/// lease's <c>On</c> for the delegate types they do not forward by themselves.
/// </summary>
/// <typeparam name="THandler">The delegate type.</typeparam>
internal static class ForwarderFactory<THandler>
    where THandler : Delegate
{
    private static Func<IEventForwarderGate, THandler>? _factory;

    /// <summary>Registers <paramref name="factory"/> unless a factory is registered already.</summary>
    /// <returns><see langword="true"/> if it was registered.</returns>
    internal static bool TryRegister(Func<IEventForwarderGate, THandler> factory) =>
        Interlocked.CompareExchange(ref _factory, factory, null) is null;

    /// <summary>Creates the registered forwarder for <paramref name="gate"/>, or returns <see langword="null"/> when none is registered.</summary>
    /// <exception cref="InvalidOperationException">The factory returned <see langword="null"/>.</exception>
    internal static THandler? Create(IEventForwarderGate gate)
    {
        var factory = Volatile.Read(ref _factory);
        return factory is null
            ? null
            : factory(gate) ?? throw new InvalidOperationException($"The forwarder factory registered for {typeof(THandler)} returned null.");
    }
}
