namespace SafeRefs.Events;

/// <summary>
/// Calls one handler of a <see cref="WeakDelegateEvent{TDelegate}"/> with the arguments of a raise: implement it on a
/// struct that holds those arguments, so that the raise is specialised for it and allocates nothing.
/// </summary>
/// <typeparam name="TDelegate">The event's delegate type.</typeparam>
/// <remarks>
/// An implementation holds the raise's arguments strongly for as long as the caller keeps it (usually one raise, on
/// the stack). A raise calls <see cref="Invoke"/> once per live handler, on the raising thread, one handler at a time;
/// concurrent raises use their own invokers. Nothing to dispose.
/// </remarks>
public interface IWeakEventInvoker<in TDelegate>
    where TDelegate : Delegate
{
    /// <summary>Calls <paramref name="handler"/> with the raise's arguments, at once and on the calling thread.</summary>
    /// <remarks>A token's <c>Dispose</c> waits out this call's start, not its end: an implementation that defers the
    /// call (queues it, posts it to another thread) or keeps <paramref name="handler"/> for later can invoke a
    /// handler after its token's <c>Dispose</c> returned, which the event otherwise promises never happens.</remarks>
    /// <param name="handler">A live handler of the event, never <see langword="null"/>.</param>
    void Invoke(TDelegate handler);
}
