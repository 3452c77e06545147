namespace SafeRefs.Timers.Internal;

/// <summary>
/// A weak reference to a loop's owner together with the loop body. The owner is resolved only for the duration of
/// the call that starts one body run.
/// </summary>
internal abstract class LoopBody
{
    /// <summary>Starts one body run; returns <see langword="false"/> if the owner was collected.</summary>
    public abstract bool TryStart(CancellationToken cancellationToken, out ValueTask run);
}
