using System.Diagnostics.Metrics;

namespace SafeRefs.Internal;

/// <summary>
/// The part of an up-down counter (<c>saferefs.weak_events.handlers</c>, <c>saferefs.timers.active</c>) that one
/// primitive recorded. Created only when the instrument is listened to; its finalizer subtracts what is still counted
/// when the primitive itself is collected, so the sum does not drift upwards for primitives dropped without
/// <c>Dispose</c>. The finalizer touches only the instrument, which its meter keeps alive, and never lets a
/// listener's exception escape (that would end the process).
/// </summary>
internal sealed class LiveCountTracker
{
    private readonly UpDownCounter<long> _counter;
    private readonly KeyValuePair<string, object?> _tag;
    private long _count;

    internal LiveCountTracker(UpDownCounter<long> counter, KeyValuePair<string, object?> tag)
    {
        _counter = counter;
        _tag = tag;
    }

    ~LiveCountTracker()
    {
        var remaining = Interlocked.Exchange(ref _count, 0);
        if (remaining == 0)
        {
            return;
        }

        try
        {
            _counter.Add(-remaining, _tag);
        }
        catch (Exception)
        {
            // A measurement listener is user code: one that throws here, on the finalizer thread, would end the
            // process. Losing this one adjustment is the lesser harm.
        }
    }

    internal void Increment()
    {
        Interlocked.Increment(ref _count);
        _counter.Add(1, _tag);
    }

    internal void Decrement()
    {
        Interlocked.Decrement(ref _count);
        _counter.Add(-1, _tag);
    }
}
