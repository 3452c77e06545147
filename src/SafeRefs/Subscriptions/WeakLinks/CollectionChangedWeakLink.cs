using System.Collections.Specialized;
using System.Runtime.CompilerServices;

namespace SafeRefs.Subscriptions.WeakLinks;

/// <summary>The weak link of <c>WeakSubscriptions.OnCollectionChanged</c>.</summary>
internal sealed class CollectionChangedWeakLink : WeakLink<NotifyCollectionChangedEventArgs>
{
    private readonly NotifyCollectionChangedEventHandler _forward;

    /// <summary>Initializes a new instance of the <see cref="CollectionChangedWeakLink"/> class.</summary>
    internal CollectionChangedWeakLink(INotifyCollectionChanged source, object owner, Delegate handler)
        : base(source, SourceAffinity.IsThreadAffine(source), owner, handler, nameof(INotifyCollectionChanged.CollectionChanged), isCounted: false)
    {
        _forward = Forward;
    }

    /// <inheritdoc/>
    protected override void AddToSource(object source, Delegate? add) => Unsafe.As<INotifyCollectionChanged>(source).CollectionChanged += _forward;

    /// <inheritdoc/>
    protected override void RemoveFromSource(object source) => Unsafe.As<INotifyCollectionChanged>(source).CollectionChanged -= _forward;
}
