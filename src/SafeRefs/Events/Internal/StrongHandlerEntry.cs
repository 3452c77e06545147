namespace SafeRefs.Events.Internal;

/// <summary>
/// An <c>Add</c> entry whose delegate's target is rooted anyway (a static method or the compiler's
/// non-capturing-lambda singleton): the delegate is held strongly, with no handle.
/// </summary>
internal sealed class StrongHandlerEntry(Delegate handler) : WeakHandlerEntry(isOwner: false)
{
    /// <summary>Gets the handler.</summary>
    internal Delegate Handler { get; } = handler;

    /// <inheritdoc/>
    internal override bool IsAlive => true;

    /// <inheritdoc/>
    internal override Delegate? AddedHandlerOrNull => Handler;

    /// <inheritdoc/>
    internal override bool IsFreed => true;

    /// <inheritdoc/>
    internal override bool Release() => false;
}
