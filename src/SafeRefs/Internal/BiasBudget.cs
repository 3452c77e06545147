namespace SafeRefs.Internal;

/// <summary>
/// How many more times a pool's leases may be revoked from their renting thread (see <see cref="PooledSlot{T}"/>):
/// each revocation costs a process-wide memory barrier, so once a pool has spent its budget (its leases are often used
/// from more than one thread) its leases are no longer biased and every lock entry is one compare-and-swap.
/// </summary>
/// <remarks>Thread-safe. Holds nothing.</remarks>
internal sealed class BiasBudget
{
    /// <summary>The revocations a pool may spend before its leases stop being biased.</summary>
    internal const int DefaultRevocations = 8;

    private int _left;

    public BiasBudget(int revocations)
    {
        _left = revocations;
    }

    /// <summary>Gets a value indicating whether new leases are still biased to their renting thread.</summary>
    public bool Enabled => Volatile.Read(ref _left) > 0;

    /// <summary>Gets or sets the revocations left; for tests (<see cref="int.MaxValue"/> keeps biasing on, 0 turns it off).</summary>
    internal int Left
    {
        get => Volatile.Read(ref _left);
        set => Volatile.Write(ref _left, value);
    }

    /// <summary>Counts one revocation.</summary>
    public void Spend() => Interlocked.Decrement(ref _left);
}
