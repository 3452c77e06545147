using System.Runtime.CompilerServices;
using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>
/// The token of <c>Subscribe.Event</c> for a source of <typeparamref name="TSource"/>: what detaching needs, typed,
/// so that the detach calls the remove accessor directly.
/// </summary>
/// <typeparam name="TSource">The source type.</typeparam>
/// <typeparam name="THandler">The event's delegate type.</typeparam>
internal class EventSubscription<TSource, THandler> : EventSubscription
    where TSource : class
    where THandler : Delegate
{
    private TSource? _source;
    private Action<TSource, THandler>? _remove;
    private ListenerCount? _counter;

    internal EventSubscription(TSource source, Action<TSource, THandler> remove, THandler handler, ListenerCount? counter)
        : base(handler)
    {
        _source = source;
        _remove = remove;
        _counter = counter;
    }

    /// <summary>Removes what was added; a budget's place is given back even if the accessor throws.</summary>
    private protected sealed override void DetachSource()
    {
        try
        {
            _remove!(_source!, Unsafe.As<THandler>(Attached));
        }
        finally
        {
            _counter?.Decrement();
        }
    }

    /// <summary>A disposed token keeps neither the source nor its remove accessor.</summary>
    private protected sealed override void ReleaseCallback()
    {
        base.ReleaseCallback();
        _source = null;
        _remove = null;
        _counter = null;
    }
}
