using SafeRefs.Timers;

namespace SafeRefs.Pooling.Internal;

/// <summary>
/// The guard's state for one pooled object, kept with the object (a weak table keyed by it) so that its storage is
/// reused by every lease. Its lease gate holds the lease version (odd while the object is out; a lease is valid only
/// while the version it was given is current) and the number of the lease's callbacks that are running.
/// </summary>
/// <remarks>
/// <para>Every field is guarded by <see cref="Lock"/>, except the gate (interlocked) and, at rent, what the object's
/// previous lease left, when the object is in nobody else's hands (a stale lease only reads the version and leaves).
/// The lock is re-entrant: an add accessor that runs under it may end the lease or attach again on the same
/// thread.</para>
/// <para>The gate: a forwarded handler enters with <see cref="TryEnter"/>, admitted only while its lease's version is
/// current, in one compare-and-swap; the end closes it (<see cref="Close"/>: the next version, counting the end itself
/// as running until its own <see cref="Exit"/>); the one <see cref="Exit"/> that leaves a closed gate with nothing
/// running hands the object back. <see cref="Discard"/> and <see cref="Returned"/> are written before an
/// <see cref="Exit"/> and read by the one whose exit drained the gate (interlocked operations order them).</para>
/// </remarks>
/// <typeparam name="T">The pooled type.</typeparam>
internal sealed class PooledObjectState<T>
    where T : class
{
    private const long VersionOne = 1L << 32;
    private const long RunningMask = VersionOne - 1;

    private static readonly LeaseAttachment<T>[] NoAttachments = [];

    // The version in the high 32 bits, the running count in the low 32 bits: one word, so that "my lease is current"
    // and "count me as running" are one atomic step. A version comes back after 2^32 leases of the object; a forwarder
    // held by a raise across that many leases of it could pass, which we accept.
    private long _gate;

    public PooledObjectState(T value) => Value = value;

    public T Value { get; }

    public Lock Lock { get; } = new();

    /// <summary>Gets the lease version; odd while the object is out, 0 if it never was.</summary>
    public int Version => (int)(Volatile.Read(ref _gate) >> 32);

    /// <summary>Gets the number of the lease's callbacks that are running (the end and what it waits for included).</summary>
    public int RunningCount => (int)(Volatile.Read(ref _gate) & RunningMask);

    public LeaseAttachment<T>[] Attachments = NoAttachments;

    public int AttachmentCount;

    /// <summary>The probe's count when the object was rented; written only when a probe is configured.</summary>
    public int CountAtRent;

    public CancellationTokenSource? Cts;

    public TimerScope? Timers;

    /// <summary>Event names already warned about for this object (Node: once per emitter and event).</summary>
    public List<string>? Warned;

    /// <summary>Set by an ended lease's end or by what it waits for: discard the object instead of returning it.</summary>
    public bool Discard;

    /// <summary>Completed once the object went back, for a <c>DisposeAsync</c> of the ended lease that waits.</summary>
    public TaskCompletionSource? Returned;

    /// <summary>Gets or sets a test hook that <see cref="TryEnter"/> calls between reading the gate and counting the
    /// caller (the window in which the lease may end).</summary>
    internal static Action<PooledObjectState<T>>? BeforeAdmitHook { get; set; }

    public bool IsCurrent(int version) => Version == version;

    /// <summary>Starts the next lease (at rent: nothing of an earlier lease runs) and returns its version.</summary>
    public int Open()
    {
        var version = (Version + 1) | 1;

        // -1 would end at 0, which reads as "never rented" to a stale Return.
        version = version == -1 ? 1 : version;
        Volatile.Write(ref _gate, (long)version << 32);
        return version;
    }

    /// <summary>Marks an object that was never rented here as returned; <see langword="true"/> only the first time.</summary>
    public bool TryMarkReturnedUnrented() => Interlocked.CompareExchange(ref _gate, 2 * VersionOne, 0) == 0;

    /// <summary>Admits one callback of lease <paramref name="version"/>; <see langword="false"/> (not counted) once that
    /// lease has ended. On <see langword="true"/>, call <see cref="Exit"/> when it returns.</summary>
    public bool TryEnter(int version)
    {
        var gate = Volatile.Read(ref _gate);
        while ((int)(gate >> 32) == version)
        {
            BeforeAdmitHook?.Invoke(this);
            var seen = Interlocked.CompareExchange(ref _gate, gate + 1, gate);
            if (seen == gate)
            {
                return true;
            }

            gate = seen;
        }

        return false;
    }

    /// <summary>Ends the current lease (under <see cref="Lock"/>, its version checked): no callback of it is admitted
    /// any more, and the end counts as running until its <see cref="Exit"/>.</summary>
    public void Close() => Interlocked.Add(ref _gate, VersionOne + 1);

    /// <summary>Counts one more thing the object waits for (only by the end, while it counts itself).</summary>
    public void Join() => Interlocked.Increment(ref _gate);

    /// <summary>A callback, the end or what it waits for is done.</summary>
    /// <returns><see langword="true"/> for the one exit that leaves an ended lease with nothing running: its caller
    /// hands the object back.</returns>
    public bool Exit()
    {
        var gate = Interlocked.Decrement(ref _gate);
        return (gate & (VersionOne | RunningMask)) == 0;
    }

    /// <summary>Makes room for one more attachment, so that tracking after an add accessor ran cannot fail.</summary>
    public void Reserve()
    {
        if (AttachmentCount == Attachments.Length)
        {
            Array.Resize(ref Attachments, Math.Max(4, Attachments.Length * 2));
        }
    }

    /// <summary>Tracks an attachment in the room <see cref="Reserve"/> made.</summary>
    public void AppendReserved(object? remove, object registration, string? key)
    {
        ref var attachment = ref Attachments[AttachmentCount++];
        attachment.Remove = remove;
        attachment.Handler = registration;
        attachment.EventKey = key;
    }

    public int CountFor(string key)
    {
        var count = 0;
        for (var i = 0; i < AttachmentCount; i++)
        {
            if (string.Equals(Attachments[i].EventKey, key, StringComparison.Ordinal))
            {
                count++;
            }
        }

        return count;
    }

    public bool TryMarkWarned(string eventName)
    {
        Warned ??= [];
        if (Warned.Contains(eventName))
        {
            return false;
        }

        Warned.Add(eventName);
        return true;
    }
}
