namespace SafeRefs.Events;

/// <summary>
/// Calls one handler of a <see cref="WeakDelegateEvent{TDelegate}"/> with the arguments of a raise: implement it on a
/// struct that holds those arguments, so that the raise is specialised for it and allocates nothing.
/// </summary>
/// <typeparam name="TDelegate">The event's delegate type.</typeparam>
public interface IWeakEventInvoker<in TDelegate>
    where TDelegate : Delegate
{
    /// <summary>Calls <paramref name="handler"/> with the raise's arguments.</summary>
    /// <param name="handler">A live handler of the event, never <see langword="null"/>.</param>
    void Invoke(TDelegate handler);
}
