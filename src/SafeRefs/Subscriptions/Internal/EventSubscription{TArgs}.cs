using SafeRefs.Internal;
namespace SafeRefs.Subscriptions.Internal;

/// <summary>The token of <c>Subscribe.Event</c> for an <see cref="EventHandler{TEventArgs}"/> event: a gated forwarder.</summary>
/// <typeparam name="TArgs">The event's argument type.</typeparam>
internal sealed class EventSubscription<TArgs> : EventSubscription
{
    private EventSubscription(Detacher detacher, object source, object remove, EventHandler<TArgs> handler)
        : base(detacher, source, remove, handler)
    {
        SetForwarder(new EventHandler<TArgs>(OnEvent));
    }

    internal static EventSubscription<TArgs> Create(Detacher detacher, object source, object remove, EventHandler<TArgs> handler) =>
        new(detacher, source, remove, handler);

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
