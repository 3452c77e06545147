using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace SafeRefs.Internal;

/// <summary>The weak link of <c>WeakSubscriptions.OnPropertyChanged</c>.</summary>
internal sealed class PropertyChangedLink : WeakEventLink<PropertyChangedEventArgs>, ISourceAttachable<INotifyPropertyChanged>
{
    private readonly PropertyChangedEventHandler _forward;

    /// <summary>Initializes a new instance of the <see cref="PropertyChangedLink"/> class.</summary>
    internal PropertyChangedLink(LinkSlot slot, object owner, Delegate handler)
        : base(slot, owner, handler, null)
    {
        _forward = Invoke;
    }

    /// <inheritdoc/>
    internal override bool AllowsBackgroundPurge => false;

    /// <inheritdoc/>
    void ISourceAttachable<INotifyPropertyChanged>.Attach(INotifyPropertyChanged source) => source.PropertyChanged += _forward;

    /// <inheritdoc/>
    protected override void RemoveFromSource()
    {
        if (SourceOrNull() is { } source)
        {
            Unsafe.As<INotifyPropertyChanged>(source).PropertyChanged -= _forward;
        }
    }
}
