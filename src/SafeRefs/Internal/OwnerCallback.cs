namespace SafeRefs.Internal;

/// <summary>
/// A weak reference to a timer's owner together with the callback that receives it. The owner is reachable only
/// through the weak handle, so the timer (which the timer queue roots) never keeps it alive.
/// </summary>
internal abstract class OwnerCallback : WeakReference
{
    protected OwnerCallback(object owner)
        : base(owner)
    {
    }

    /// <summary>Invokes the callback with the owner; returns <see langword="false"/> if the owner was collected.</summary>
    public abstract bool TryInvoke();
}

/// <summary>The typed <see cref="OwnerCallback"/>.</summary>
internal sealed class OwnerCallback<TOwner> : OwnerCallback
    where TOwner : class
{
    private readonly Action<TOwner> _callback;

    public OwnerCallback(TOwner owner, Action<TOwner> callback)
        : base(owner)
    {
        _callback = callback;
    }

    public override bool TryInvoke()
    {
        if (Target is not TOwner owner)
        {
            return false;
        }

        _callback(owner);
        return true;
    }
}
