namespace SafeRefs.Pooling;

/// <summary>A snapshot of a <see cref="GuardedObjectPool{T}"/>'s counters.</summary>
/// <remarks><b>Holds</b> numbers only. <b>Thread safety:</b> immutable. Each counter includes every rent, return and
/// detach that completed before the read; <see cref="Returned"/> is read before <see cref="Rented"/>, so
/// <see cref="Outstanding"/> is never below the true value, but operations running during the read may be counted in
/// one counter and not yet in another. An object whose lease ended while a lease callback still ran counts as returned
/// once it is back.</remarks>
public sealed class GuardedPoolStatistics
{
    internal GuardedPoolStatistics(long rented, long returned, long detached, long leaksSuspected)
    {
        Rented = rented;
        Returned = returned;
        Detached = detached;
        LeaksSuspected = leaksSuspected;
    }

    /// <summary>Gets how many objects were handed out, by <see cref="GuardedObjectPool{T}.Rent"/> or <see cref="GuardedObjectPool{T}.Get"/>.</summary>
    /// <value>A running total.</value>
    public long Rented { get; }

    /// <summary>Gets how many objects came back (returned to the inner pool or discarded).</summary>
    /// <value>A running total.</value>
    public long Returned { get; }

    /// <summary>Gets how many tracked handlers and registrations were detached when leases ended.</summary>
    /// <value>A running total.</value>
    public long Detached { get; }

    /// <summary>Gets how many objects are out: rented and not yet back (including leases that were never disposed).</summary>
    /// <value><see cref="Rented"/> minus <see cref="Returned"/>.</value>
    public long Outstanding => Rented - Returned;

    /// <summary>Gets how many returns found more listeners than at rent.</summary>
    /// <value>A running total.</value>
    public long LeaksSuspected { get; }
}
