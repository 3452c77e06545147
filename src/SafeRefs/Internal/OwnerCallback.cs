namespace SafeRefs.Internal;

/// <summary>
/// A weak reference to a timer's owner together with the callback that receives it. The owner is reachable only
/// through the weak handle, so the timer (which the timer queue roots) never keeps it alive.
/// </summary>
internal abstract class OwnerCallback
{
    /// <summary>Invokes the callback with the owner; returns <see langword="false"/> if the owner was collected.</summary>
    public abstract bool TryInvoke();
}

/// <summary>The typed <see cref="OwnerCallback"/>.</summary>
internal sealed class OwnerCallback<TOwner> : OwnerCallback
    where TOwner : class
{
    // An exact WeakReference<T> (not a subclass of WeakReference): the runtime frees its handle without the
    // finalizer-thread round trip that a derived weak reference type costs.
    private readonly WeakReference<TOwner> _owner;
    private readonly Action<TOwner> _callback;

    public OwnerCallback(TOwner owner, Action<TOwner> callback)
    {
        _owner = new WeakReference<TOwner>(owner);
        _callback = callback;
    }

    public override bool TryInvoke()
    {
        if (!_owner.TryGetTarget(out var owner))
        {
            return false;
        }

        _callback(owner);
        return true;
    }
}
