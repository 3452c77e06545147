using System.Runtime.CompilerServices;

namespace SafeRefs.Internal;

/// <summary>The weak link of <c>Subscribe.WeakEvent</c>: an <see cref="EventHandler{TEventArgs}"/> event reached through add/remove accessors.</summary>
/// <typeparam name="TSource">The source type.</typeparam>
/// <typeparam name="TArgs">The event arguments type.</typeparam>
internal sealed class EventHandlerLink<TSource, TArgs> : WeakEventLink<TArgs>
    where TSource : class
{
    /// <summary>Initializes a new instance of the <see cref="EventHandlerLink{TSource, TArgs}"/> class.</summary>
    internal EventHandlerLink(LinkSlot slot, Action<TSource, EventHandler<TArgs>> remove, object owner, Delegate handler)
        : base(slot, owner, handler, remove)
    {
        Forward = Invoke;
    }

    /// <summary>Gets the delegate attached to the source's event.</summary>
    internal EventHandler<TArgs> Forward { get; }

    /// <inheritdoc/>
    protected override void RemoveFromSource()
    {
        if (SourceOrNull() is { } source)
        {
            // The token's second slot holds the remove accessor.
            Unsafe.As<Action<TSource, EventHandler<TArgs>>>(Slot1)!(Unsafe.As<TSource>(source), Forward);
        }
    }
}
