using System.Runtime.CompilerServices;

namespace SafeRefs.Subscriptions.WeakLinks;

/// <summary>The weak link of <c>Subscribe.WeakEvent</c>: an <see cref="EventHandler{TEventArgs}"/> event reached through the caller's accessors.</summary>
/// <typeparam name="TSource">The type declaring the event.</typeparam>
/// <typeparam name="TArgs">The event arguments type.</typeparam>
internal sealed class EventHandlerWeakLink<TSource, TArgs> : WeakLink<TArgs>
    where TSource : class
{
    private readonly EventHandler<TArgs> _forward;
    private readonly Action<TSource, EventHandler<TArgs>> _remove;

    /// <summary>Initializes a new instance of the <see cref="EventHandlerWeakLink{TSource, TArgs}"/> class.</summary>
    internal EventHandlerWeakLink(
        TSource source, Action<TSource, EventHandler<TArgs>> remove, object owner, Delegate handler, string? eventName)
        : base(source, SourceAffinity.IsThreadAffine(source), owner, handler, eventName, isCounted: true)
    {
        _forward = Forward;
        _remove = remove;
    }

    /// <inheritdoc/>
    protected override void AddToSource(object source, Delegate? add) =>
        Unsafe.As<Action<TSource, EventHandler<TArgs>>>(add!)(Unsafe.As<TSource>(source), _forward);

    /// <inheritdoc/>
    protected override void RemoveFromSource(object source) => _remove(Unsafe.As<TSource>(source), _forward);
}
