using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>The token of <c>Subscribe.Event</c> for an <see cref="Action{T1, T2}"/> event: a gated forwarder.</summary>
/// <typeparam name="T1">The event's first argument type.</typeparam>
/// <typeparam name="T2">The event's second argument type.</typeparam>
internal sealed class ActionSubscription<T1, T2> : EventSubscription
{
    private ActionSubscription(Detacher detacher, object source, object remove, Action<T1, T2> handler)
        : base(detacher, source, remove, handler)
    {
        SetForwarder(new Action<T1, T2>(OnAction));
    }

    internal static ActionSubscription<T1, T2> Create(Detacher detacher, object source, object remove, Action<T1, T2> handler) =>
        new(detacher, source, remove, handler);

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
