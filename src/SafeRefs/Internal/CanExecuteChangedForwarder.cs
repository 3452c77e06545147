using System.Windows.Input;

namespace SafeRefs.Internal;

/// <summary>Forwards <see cref="ICommand.CanExecuteChanged"/> to an owner-bound handler.</summary>
internal sealed class CanExecuteChangedForwarder : WeakForwarder
{
    private readonly WeakReference<ICommand> _source;
    private readonly EventHandler _handler;

    internal CanExecuteChangedForwarder(ICommand source, WeakHandlerEntry entry)
        : base(entry)
    {
        _source = new WeakReference<ICommand>(source);
        _handler = (sender, e) => Forward(sender, e);
    }

    internal override bool IsSourceAlive => _source.TryGetTarget(out _);

    internal override void Attach()
    {
        if (_source.TryGetTarget(out var source))
        {
            source.CanExecuteChanged += _handler;
        }
    }

    protected override void DetachFromSource()
    {
        if (_source.TryGetTarget(out var source))
        {
            source.CanExecuteChanged -= _handler;
        }
    }
}
