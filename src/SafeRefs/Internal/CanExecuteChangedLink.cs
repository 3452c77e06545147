using System.Runtime.CompilerServices;
using System.Windows.Input;

namespace SafeRefs.Internal;

/// <summary>The weak link of <c>WeakSubscriptions.OnCanExecuteChanged</c>.</summary>
internal sealed class CanExecuteChangedLink : WeakEventLink<EventArgs>, ISourceAttachable<ICommand>
{
    private readonly EventHandler _forward;

    /// <summary>Initializes a new instance of the <see cref="CanExecuteChangedLink"/> class.</summary>
    internal CanExecuteChangedLink(LinkSlot slot, object owner, Delegate handler)
        : base(slot, owner, handler, null)
    {
        _forward = Invoke;
    }

    /// <inheritdoc/>
    internal override bool AllowsBackgroundPurge => false;

    /// <inheritdoc/>
    void ISourceAttachable<ICommand>.Attach(ICommand source) => source.CanExecuteChanged += _forward;

    /// <inheritdoc/>
    protected override void RemoveFromSource()
    {
        if (SourceOrNull() is { } source)
        {
            Unsafe.As<ICommand>(source).CanExecuteChanged -= _forward;
        }
    }
}
