using System.Collections.Specialized;

namespace SafeRefs.Internal;

/// <summary>Forwards <see cref="INotifyCollectionChanged.CollectionChanged"/> to an owner-bound handler.</summary>
internal sealed class CollectionChangedForwarder : WeakForwarder
{
    private readonly WeakReference<INotifyCollectionChanged> _source;
    private readonly NotifyCollectionChangedEventHandler _handler;

    internal CollectionChangedForwarder(INotifyCollectionChanged source, WeakHandlerEntry entry)
        : base(entry)
    {
        _source = new WeakReference<INotifyCollectionChanged>(source);
        _handler = (sender, e) => Forward(sender, e);
    }

    internal override bool IsSourceAlive => _source.TryGetTarget(out _);

    internal override void Attach()
    {
        if (_source.TryGetTarget(out var source))
        {
            source.CollectionChanged += _handler;
        }
    }

    protected override void DetachFromSource()
    {
        if (_source.TryGetTarget(out var source))
        {
            source.CollectionChanged -= _handler;
        }
    }
}
