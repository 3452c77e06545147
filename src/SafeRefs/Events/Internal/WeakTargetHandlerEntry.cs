using System.Diagnostics;
using System.Runtime;

namespace SafeRefs.Events.Internal;

/// <summary>
/// An <c>Add</c> entry with a weak target: a <see cref="DependentHandle"/> target → delegate keeps the delegate alive
/// exactly as long as its target and is never read; a raise reads the delegate through <see cref="Added"/>, a
/// <see cref="WeakReference{T}"/> whose handle belongs to the runtime (freed only once the reference is unreachable).
/// So the <see cref="WeakHandlerList"/> frees the dependent handle when it drops the entry, whatever raise is running
/// (or the creator of an entry never published does).
/// </summary>
internal sealed class WeakTargetHandlerEntry : WeakHandlerEntry
{
    private DependentHandle _targetToHandler;

    /// <summary>Initializes a new instance of the <see cref="WeakTargetHandlerEntry"/> class.</summary>
    internal WeakTargetHandlerEntry(object target, Delegate handler)
        : base(isOwner: false)
    {
        _targetToHandler = new DependentHandle(target, handler);
        Added = new WeakReference<Delegate>(handler);
    }

    /// <summary>Gets the weak reference to the delegate, which a raise reads.</summary>
    internal WeakReference<Delegate> Added { get; }

    /// <inheritdoc/>
    internal override bool IsAlive => Added.TryGetTarget(out _);

    /// <inheritdoc/>
    internal override Delegate? AddedHandlerOrNull => Added.TryGetTarget(out var added) ? added : null;

    /// <inheritdoc/>
    internal override bool IsFreed => !_targetToHandler.IsAllocated;

    /// <summary>Frees the handle, once: nothing reads it.</summary>
    internal override bool Release()
    {
        Debug.Assert(!IsFreed, "a weak target entry's handle is freed exactly once");
        _targetToHandler.Dispose();
        return true;
    }
}
