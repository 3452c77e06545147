namespace SafeRefs.Pooling;

/// <summary>What a <see cref="GuardedObjectPool{T}"/> does when a returned object has more listeners than when it was rented.</summary>
public enum LeakAction
{
    /// <summary>Raise <see cref="GuardedObjectPool{T}.LeakSuspected"/>, log a warning and return the object to the pool anyway.</summary>
    Warn = 0,

    /// <summary>Raise the event, log a warning and discard the object (disposed if it is <see cref="IDisposable"/>) instead of reusing it. The default.</summary>
    WarnAndDiscard = 1,

    /// <summary>Raise the event, discard the object and throw <see cref="LeaseLeakException"/> from the return.</summary>
    Throw = 2,
}
