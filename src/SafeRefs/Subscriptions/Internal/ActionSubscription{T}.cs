using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>The token of <c>Subscribe.Event</c> for an <see cref="Action{T}"/> event: a gated forwarder.</summary>
/// <typeparam name="T">The event's argument type.</typeparam>
internal sealed class ActionSubscription<T> : EventSubscription
{
    private ActionSubscription(Detacher detacher, object source, object remove, Action<T> handler)
        : base(detacher, source, remove, handler)
    {
        SetForwarder(new Action<T>(OnAction));
    }

    internal static ActionSubscription<T> Create(Detacher detacher, object source, object remove, Action<T> handler) =>
        new(detacher, source, remove, handler);

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
