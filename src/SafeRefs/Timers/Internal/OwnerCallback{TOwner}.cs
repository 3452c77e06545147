namespace SafeRefs.Timers.Internal;

/// <summary>The typed <see cref="OwnerCallback"/>.</summary>
/// <typeparam name="TOwner">The owner's type.</typeparam>
internal sealed class OwnerCallback<TOwner>(TOwner owner, Action<TOwner> callback) : OwnerCallback
    where TOwner : class
{
    private readonly WeakReference<TOwner> _owner = new(owner);

    public override bool TryInvoke()
    {
        if (!_owner.TryGetTarget(out var target))
        {
            return false;
        }

        callback(target);
        return true;
    }
}
