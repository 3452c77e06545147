using System.Diagnostics.Metrics;

namespace SafeRefs.Internal;

/// <summary>
/// The part of <c>saferefs.weak_events.handlers</c> one weak event recorded. Created only when the instrument is
/// listened to; its finalizer records the handlers still attached when the event itself is collected, so the sum
/// does not drift upwards for events that die with handlers attached.
/// </summary>
internal sealed class HandlerCountTracker
{
    private readonly UpDownCounter<long> _handlers;
    private readonly KeyValuePair<string, object?> _nameTag;
    private long _count;

    internal HandlerCountTracker(UpDownCounter<long> handlers, string? eventName)
    {
        _handlers = handlers;
        _nameTag = Metrics.WeakEventInstruments.NameTag(eventName);
    }

    ~HandlerCountTracker()
    {
        var remaining = Interlocked.Exchange(ref _count, 0);
        if (remaining != 0)
        {
            _handlers.Add(-remaining, _nameTag);
        }
    }

    internal void Added()
    {
        Interlocked.Increment(ref _count);
        _handlers.Add(1, _nameTag);
    }

    internal void Removed()
    {
        Interlocked.Decrement(ref _count);
        _handlers.Add(-1, _nameTag);
    }
}
