using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>The token of <c>Subscribe.Event</c> for an <see cref="Action{T}"/> event: a gated forwarder.</summary>
/// <typeparam name="TSource">The source type.</typeparam>
/// <typeparam name="T">The event's argument type.</typeparam>
internal sealed class ActionSubscription<TSource, T> : EventSubscription<TSource, Action<T>>
    where TSource : class
{
    internal ActionSubscription(TSource source, Action<TSource, Action<T>> remove, Action<T> handler, ListenerCount? counter)
        : base(source, remove, handler, counter)
    {
        SetForwarder(new Action<T>(OnAction));
    }

    private void OnAction(T arg)
    {
        if (Enter<Action<T>>() is { } handler)
        {
            try
            {
                handler(arg);
            }
            finally
            {
                Leave();
            }
        }
    }
}
