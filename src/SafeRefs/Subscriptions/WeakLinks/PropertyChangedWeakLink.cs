using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace SafeRefs.Subscriptions.WeakLinks;

/// <summary>The weak link of <c>WeakSubscriptions.OnPropertyChanged</c>.</summary>
internal sealed class PropertyChangedWeakLink : WeakLink<PropertyChangedEventArgs>
{
    private readonly PropertyChangedEventHandler _forward;

    /// <summary>Initializes a new instance of the <see cref="PropertyChangedWeakLink"/> class.</summary>
    internal PropertyChangedWeakLink(INotifyPropertyChanged source, object owner, Delegate handler)
        : base(source, SourceAffinity.IsThreadAffine(source), owner, handler, nameof(INotifyPropertyChanged.PropertyChanged), isCounted: false)
    {
        _forward = Forward;
    }

    /// <inheritdoc/>
    protected override void AddToSource(object source, Delegate? add) => Unsafe.As<INotifyPropertyChanged>(source).PropertyChanged += _forward;

    /// <inheritdoc/>
    protected override void RemoveFromSource(object source) => Unsafe.As<INotifyPropertyChanged>(source).PropertyChanged -= _forward;
}
