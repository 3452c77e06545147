using System.ComponentModel;

namespace SafeRefs.Internal;

/// <summary>Forwards <see cref="INotifyPropertyChanged.PropertyChanged"/> to an owner-bound handler.</summary>
internal sealed class PropertyChangedForwarder : WeakForwarder
{
    private readonly WeakReference<INotifyPropertyChanged> _source;
    private readonly PropertyChangedEventHandler _handler;

    internal PropertyChangedForwarder(INotifyPropertyChanged source, WeakHandlerEntry entry)
        : base(entry)
    {
        _source = new WeakReference<INotifyPropertyChanged>(source);
        _handler = (sender, e) => Forward(sender, e);
    }

    internal override bool IsSourceAlive => _source.TryGetTarget(out _);

    internal override void Attach()
    {
        if (_source.TryGetTarget(out var source))
        {
            source.PropertyChanged += _handler;
        }
    }

    protected override void DetachFromSource()
    {
        if (_source.TryGetTarget(out var source))
        {
            source.PropertyChanged -= _handler;
        }
    }
}
