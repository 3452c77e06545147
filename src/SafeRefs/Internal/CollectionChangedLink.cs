using System.Collections.Specialized;
using System.Runtime.CompilerServices;

namespace SafeRefs.Internal;

/// <summary>The weak link of <c>WeakSubscriptions.OnCollectionChanged</c>.</summary>
internal sealed class CollectionChangedLink : WeakEventLink<NotifyCollectionChangedEventArgs>, ISourceAttachable<INotifyCollectionChanged>
{
    private readonly NotifyCollectionChangedEventHandler _forward;

    /// <summary>Initializes a new instance of the <see cref="CollectionChangedLink"/> class.</summary>
    internal CollectionChangedLink(LinkSlot slot, object owner, Delegate handler)
        : base(slot, owner, handler, null)
    {
        _forward = Invoke;
    }

    /// <inheritdoc/>
    internal override bool AllowsBackgroundPurge => false;

    /// <inheritdoc/>
    void ISourceAttachable<INotifyCollectionChanged>.Attach(INotifyCollectionChanged source) => source.CollectionChanged += _forward;

    /// <inheritdoc/>
    protected override void RemoveFromSource()
    {
        if (SourceOrNull() is { } source)
        {
            Unsafe.As<INotifyCollectionChanged>(source).CollectionChanged -= _forward;
        }
    }
}
