namespace SafeRefs.Internal;

/// <summary>
/// A weak GC handle to a timer's owner together with the callback that receives it. The owner is reachable only
/// through the weak handle, so the timer (which the timer queue roots) never keeps it alive.
/// </summary>
/// <remarks>
/// The handle is a reusable struct handle in an <see cref="OwnerHandleBlock"/>, not a finalizable
/// <see cref="WeakReference{T}"/>. The timer calls <see cref="Release"/> once it has ended and no callback of it is
/// running (whichever of the closing thread and the last running callback comes second), so <see cref="TryInvoke"/>
/// never reads a released handle. A timer abandoned without ending leaves its handle to the block's finalizer.
/// </remarks>
internal abstract class OwnerCallback
{
    /// <summary>Invokes the callback with the owner; returns <see langword="false"/> if the owner was collected.</summary>
    public abstract bool TryInvoke();

    /// <summary>Releases the owner's handle; called exactly once, after the last <see cref="TryInvoke"/> has returned.</summary>
    public abstract void Release();
}

/// <summary>The typed <see cref="OwnerCallback"/>.</summary>
internal sealed class OwnerCallback<TOwner> : OwnerCallback
    where TOwner : class
{
    private readonly OwnerHandleBlock _block;
    private readonly Action<TOwner> _callback;
    private readonly int _slot;

    public OwnerCallback(TOwner owner, Action<TOwner> callback)
    {
        _block = OwnerHandleBlock.Claim(owner, out _slot);
        _callback = callback;
    }

    public override bool TryInvoke()
    {
        if (!_block.TryGetTarget(_slot, out var owner))
        {
            return false;
        }

        _callback((TOwner)owner!);
        return true;
    }

    public override void Release() => _block.Release(_slot);
}
