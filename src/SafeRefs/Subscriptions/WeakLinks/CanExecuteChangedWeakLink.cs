using System.Runtime.CompilerServices;
using System.Windows.Input;

namespace SafeRefs.Subscriptions.WeakLinks;

/// <summary>The weak link of <c>WeakSubscriptions.OnCanExecuteChanged</c>.</summary>
internal sealed class CanExecuteChangedWeakLink : WeakLink<EventArgs>
{
    private readonly EventHandler _forward;

    /// <summary>Initializes a new instance of the <see cref="CanExecuteChangedWeakLink"/> class.</summary>
    internal CanExecuteChangedWeakLink(ICommand source, object owner, Delegate handler)
        : base(source, SourceAffinity.IsThreadAffine(source), owner, handler, nameof(ICommand.CanExecuteChanged), isCounted: false)
    {
        _forward = Forward;
    }

    /// <inheritdoc/>
    protected override void AddToSource(object source, Delegate? add) => Unsafe.As<ICommand>(source).CanExecuteChanged += _forward;

    /// <inheritdoc/>
    protected override void RemoveFromSource(object source) => Unsafe.As<ICommand>(source).CanExecuteChanged -= _forward;
}
