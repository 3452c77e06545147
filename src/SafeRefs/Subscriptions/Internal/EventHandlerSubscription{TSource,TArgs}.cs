using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>The token of <c>Subscribe.Event</c> for an <see cref="EventHandler{TEventArgs}"/> event: a gated forwarder.</summary>
/// <typeparam name="TSource">The source type.</typeparam>
/// <typeparam name="TArgs">The event's argument type.</typeparam>
internal sealed class EventHandlerSubscription<TSource, TArgs> : EventSubscription<TSource, EventHandler<TArgs>>
    where TSource : class
{
    internal EventHandlerSubscription(TSource source, Action<TSource, EventHandler<TArgs>> remove, EventHandler<TArgs> handler, ListenerCount? counter)
        : base(source, remove, handler, counter)
    {
        SetForwarder(new EventHandler<TArgs>(OnEvent));
    }

    private void OnEvent(object? sender, TArgs e)
    {
        if (Enter<EventHandler<TArgs>>() is { } handler)
        {
            try
            {
                handler(sender, e);
            }
            finally
            {
                Leave();
            }
        }
    }
}
