namespace SafeRefs.Pooling.Internal;

/// <summary>
/// What the guard keeps for one pooled object across its leases, with the object (a weak table keyed by it): the lock
/// of its leases, the lease it is out under, the tracking storage each lease uses in turn, the probe's count at rent
/// and the events already warned about.
/// </summary>
/// <remarks>
/// The object is out under one lease at a time, and the next lease starts only after the previous one handed it back:
/// so one lock serves every lease of the object, and the tracking storage is the current lease's alone (a stale lease
/// touches it only while something of it still runs, that is before its hand-back). Fields are guarded by
/// <see cref="Lock"/>, except <see cref="Current"/> (volatile), <see cref="OutUnleased"/> (interlocked) and what a rent
/// sets while the object is in nobody else's hands.
/// </remarks>
/// <typeparam name="T">The pooled type.</typeparam>
internal sealed class PooledObjectState<T>
    where T : class
{
    /// <summary>The lease the object is out under, until it went back; read by <c>Return</c>.</summary>
    public PoolLease<T>? Current;

    /// <summary>1 while the object is out under <c>Get</c> (without a lease); the <c>Return</c> that swaps it to 0 ends
    /// that use.</summary>
    public int OutUnleased;

    /// <summary>The current lease's attachments (its count is the lease's); cleared when the object goes back.</summary>
    public LeaseAttachment<T>[] Attachments = [];

    /// <summary>The probe's count when the object was rented; written only when a probe is configured.</summary>
    public int CountAtRent;

    /// <summary>Whether the object was ever rented from this pool.</summary>
    public bool Rented;

    private int _returnedUnrented;
    private HashSet<string>? _warned;

    public PooledObjectState(T value) => Value = value;

    public T Value { get; }

    public Lock Lock { get; } = new();

    /// <summary>Marks an object that was never rented here as returned; <see langword="true"/> only the first time.</summary>
    public bool TryMarkReturnedUnrented() => !Rented && Interlocked.Exchange(ref _returnedUnrented, 1) == 0;

    /// <summary>Event names already warned about for this object (Node: once per emitter and event). Under <see cref="Lock"/>.</summary>
    public bool TryMarkWarned(string eventName) => (_warned ??= new(StringComparer.Ordinal)).Add(eventName);
}
