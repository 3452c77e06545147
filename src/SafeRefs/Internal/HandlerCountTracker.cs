namespace SafeRefs.Internal;

/// <summary>
/// The part of <c>saferefs.weak_events.handlers</c> one weak event recorded. Created only when the instrument is
/// listened to; its finalizer records the handlers still attached when the event itself is collected, so the sum
/// does not drift upwards for events that die with handlers attached.
/// </summary>
internal sealed class HandlerCountTracker
{
    private readonly string? _eventName;
    private long _count;

    internal HandlerCountTracker(string? eventName)
    {
        _eventName = eventName;
    }

    ~HandlerCountTracker()
    {
        var remaining = Interlocked.Exchange(ref _count, 0);
        if (remaining != 0)
        {
            Metrics.WeakEvents.Handlers.Add(-remaining, Metrics.WeakEvents.NameTag(_eventName));
        }
    }

    internal void Added()
    {
        Interlocked.Increment(ref _count);
        Metrics.WeakEvents.Handlers.Add(1, Metrics.WeakEvents.NameTag(_eventName));
    }

    internal void Removed()
    {
        Interlocked.Decrement(ref _count);
        Metrics.WeakEvents.Handlers.Add(-1, Metrics.WeakEvents.NameTag(_eventName));
    }
}
