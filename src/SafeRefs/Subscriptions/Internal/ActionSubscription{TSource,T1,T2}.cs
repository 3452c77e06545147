using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>The token of <c>Subscribe.Event</c> for an <see cref="Action{T1, T2}"/> event: a gated forwarder.</summary>
/// <typeparam name="TSource">The source type.</typeparam>
/// <typeparam name="T1">The event's first argument type.</typeparam>
/// <typeparam name="T2">The event's second argument type.</typeparam>
internal sealed class ActionSubscription<TSource, T1, T2> : EventSubscription<TSource, Action<T1, T2>>
    where TSource : class
{
    internal ActionSubscription(TSource source, Action<TSource, Action<T1, T2>> remove, Action<T1, T2> handler, ListenerCount? counter)
        : base(source, remove, handler, counter)
    {
        SetForwarder(new Action<T1, T2>(OnAction));
    }

    private void OnAction(T1 arg1, T2 arg2)
    {
        if (Enter<Action<T1, T2>>() is { } handler)
        {
            try
            {
                handler(arg1, arg2);
            }
            finally
            {
                Leave();
            }
        }
    }
}
