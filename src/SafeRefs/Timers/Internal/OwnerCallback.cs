namespace SafeRefs.Timers.Internal;

/// <summary>
/// A weak reference to a timer's owner together with the callback that receives it. The owner is reachable only
/// through the weak reference, so the timer (which the timer queue roots) never keeps it alive.
/// </summary>
internal abstract class OwnerCallback
{
    /// <summary>Invokes the callback with the owner; returns <see langword="false"/> if the owner was collected.</summary>
    public abstract bool TryInvoke();
}
