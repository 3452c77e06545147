using SafeRefs.Timers;

namespace SafeRefs.Pooling.Internal;

/// <summary>
/// The guard's state for one pooled object, kept with the object (a weak table keyed by it) so that its storage is
/// reused by every lease. It holds the lease version (odd while the object is out; a lease is valid only while the
/// version it was given is current) and the lease gate: the number of the lease's callbacks that are running.
/// </summary>
/// <remarks>
/// <para>Every field is guarded by <see cref="Lock"/>, except the version and the gate (volatile and interlocked)
/// and, at rent, what the object's previous lease left, when the object is in nobody else's hands (a stale lease only
/// reads the version and leaves). The lock is re-entrant: an add accessor that runs under it may end the lease or
/// attach again on the same thread.</para>
/// <para>The gate: a forwarded handler enters with <see cref="Admit"/>, admitted only while its lease's version is
/// current, in one compare-and-swap; the end closes it (<see cref="Close"/>: the next version, counting the end itself
/// as running until its own <see cref="Exit"/>); the one <see cref="Exit"/> that leaves a closed gate with nothing
/// running hands the object back. <see cref="Discard"/> is written before an <see cref="Exit"/> and read by the one
/// whose exit drained the gate (interlocked operations order them).</para>
/// </remarks>
/// <typeparam name="T">The pooled type.</typeparam>
internal sealed class PooledObjectState<T>
    where T : class
{
    private const long VersionOne = 1L << 32;
    private const long RunningMask = VersionOne - 1;

    private static readonly LeaseAttachment<T>[] NoAttachments = [];

    // The lease version: odd while the object is out, 0 if it never was. 64 bits, so a version never comes back (2^63
    // leases); the gate below carries only its low 32 bits, which do come back after 2^31 leases.
    private long _version;

    // The low 32 bits of the version in the high half, the running count in the low half: one word, so that "my lease
    // is current" and "count me as running" are one atomic step. A callback admitted by the low bits of a version
    // 2^31 leases older (a raise held that long between reading a forwarder and entering) finds the full version
    // different (IsCurrent) and leaves without running.
    private long _gate;

    public PooledObjectState(GuardedObjectPool<T> pool, T value)
    {
        Pool = pool;
        Value = value;
    }

    /// <summary>Gets the pool whose table holds this state: the one the object goes back to.</summary>
    public GuardedObjectPool<T> Pool { get; }

    public T Value { get; }

    public Lock Lock { get; } = new();

    /// <summary>Gets the lease version; odd while the object is out, 0 if it never was.</summary>
    public long Version => Volatile.Read(ref _version);

    public LeaseAttachment<T>[] Attachments = NoAttachments;

    public int AttachmentCount;

    /// <summary>The probe's count when the object was rented; written only when a probe is configured.</summary>
    public int CountAtRent;

    public CancellationTokenSource? Cts;

    public TimerScope? Timers;

    /// <summary>The timer scope and tracked registrations of the ended lease <see cref="EndedFor"/>, taken by its end
    /// before it detaches anything and kept until its object went back: a later end ends them too, and a later
    /// <c>DisposeAsync</c> inside a running callback of one would wait for itself. Set under <see cref="Lock"/>; an
    /// end takes an entry out with one exchange when it may be disposed only once.</summary>
    public object?[]? EndedItems;

    /// <summary>The lease version <see cref="EndedItems"/> belongs to. Under <see cref="Lock"/>.</summary>
    public long EndedFor;

    /// <summary>Event names already warned about for this object (Node: once per emitter and event).</summary>
    public HashSet<string>? Warned;

    /// <summary>Set by an ended lease's end or by what it waits for: discard the object instead of returning it.</summary>
    public bool Discard;

    // The last lease whose object went back (interlocked), and, under Lock, the wait of a DisposeAsync of lease
    // _waiterFor for that. The next lease may open as soon as the object is back, before the hand-back records it here.
    private long _handedBack;
    private long _waiterFor;
    private TaskCompletionSource? _waiter;

    /// <summary>Gets or sets a test hook that <see cref="Admit"/> and <see cref="TryJoin"/> call between reading the
    /// gate and counting the caller (the window in which the lease may end).</summary>
    internal static Action<PooledObjectState<T>>? BeforeAdmitHook { get; set; }

    /// <summary>Gets or sets a test hook that <see cref="WhenHandedBack"/> calls under the lock between its first look
    /// at the hand-back and publishing its waiter (the window in which a hand-back may miss the waiter).</summary>
    internal static Action<PooledObjectState<T>>? BeforeWaiterHook { get; set; }

    public bool IsCurrent(long version) => Version == version;

    /// <summary>Starts the next lease (at rent: nothing of an earlier lease runs) and returns its version.</summary>
    public long Open()
    {
        var version = _version + 1;
        Volatile.Write(ref _version, version);
        Volatile.Write(ref _gate, version << 32);
        return version;
    }

    /// <summary>For tests: moves the version on as if <paramref name="leases"/> leases had come and gone (only while
    /// the object is in the pool).</summary>
    internal void SkipLeases(long leases) => _version += 2 * leases;

    /// <summary>Marks an object that was never rented here as returned; <see langword="true"/> only the first time.</summary>
    public bool TryMarkReturnedUnrented() => Interlocked.CompareExchange(ref _version, 2, 0) == 0;

    /// <summary>Admits one callback of lease <paramref name="version"/> (by the low 32 bits of its version, see the
    /// gate); <see langword="false"/> (not counted) once that lease has ended. On <see langword="true"/>, the caller
    /// checks <see cref="IsCurrent"/> before it runs anything and calls <see cref="Exit"/> in any case.</summary>
    public bool Admit(long version) => CountIn(version, atLeast: 0);

    /// <summary>Ends the current lease (under <see cref="Lock"/>, its version checked): no callback of it is admitted
    /// any more, and the end counts as running until its <see cref="Exit"/>.</summary>
    public void Close()
    {
        Volatile.Write(ref _version, _version + 1);
        Interlocked.Add(ref _gate, VersionOne + 1);
    }

    /// <summary>Counts a later end of the ended lease <paramref name="version"/> as running, unless nothing of that lease
    /// runs any more (its object went back or is about to); under <see cref="Lock"/> with <see cref="EndedFor"/> equal
    /// to <paramref name="version"/>, so that no later lease has ended (a gate of 2^31 leases later cannot match).</summary>
    public bool TryJoin(long version) => CountIn(version + 1, atLeast: 1);

    /// <summary>Counts one more thing the object waits for (only by an end, while it counts itself).</summary>
    public void Join() => Interlocked.Increment(ref _gate);

    /// <summary>A callback, the end or what it waits for is done.</summary>
    /// <returns><see langword="true"/> for the one exit that leaves an ended lease with nothing running: its caller
    /// hands the object back.</returns>
    public bool Exit()
    {
        var gate = Interlocked.Decrement(ref _gate);
        return (gate & (VersionOne | RunningMask)) == 0;
    }

    /// <summary>Completes once the object of the ended lease <paramref name="version"/> went back (at once if it did).</summary>
    public ValueTask WhenHandedBack(long version)
    {
        lock (Lock)
        {
            // A later lease opened: the object went back before it could be rented again.
            if (Version != version + 1 || Volatile.Read(ref _handedBack) >= version)
            {
                return default;
            }

            BeforeWaiterHook?.Invoke(this);
            if (_waiterFor != version)
            {
                // A waiter of an earlier lease not completed yet: its object went back since (this lease had it).
                _waiter?.TrySetResult();
                _waiterFor = version;
                Interlocked.Exchange(ref _waiter, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            }

            // Published above with a full fence before this read, as HandedBack records before it looks for a waiter:
            // a hand-back that did not see the waiter is seen here, and the waiter completes at once.
            if (Volatile.Read(ref _handedBack) >= version)
            {
                (var waiter, _waiter) = (_waiter, null);
                waiter!.TrySetResult();
                return default;
            }

            return new ValueTask(_waiter!.Task);
        }
    }

    /// <summary>Records that the object of the ended lease <paramref name="version"/> went back (or was discarded, or
    /// its return failed with <paramref name="failure"/>) and completes the wait for it.</summary>
    public void HandedBack(long version, Exception? failure)
    {
        // Without the lock when nobody waits (the common end): recorded with a full fence first, see WhenHandedBack.
        if (RecordHandedBack(version) && Volatile.Read(ref _waiter) is null && Volatile.Read(ref EndedItems) is null)
        {
            return;
        }

        TaskCompletionSource? waiter = null;
        lock (Lock)
        {
            if (EndedFor == version)
            {
                EndedItems = null;
            }

            if (_waiterFor == version)
            {
                (waiter, _waiter) = (_waiter, null);
            }
        }

        if (failure is null)
        {
            waiter?.TrySetResult();
        }
        else
        {
            waiter?.TrySetException(failure);
        }
    }

    // Counts the caller as running, in one compare-and-swap, while the gate carries the low bits of gateVersion and
    // counts at least atLeast.
    private bool CountIn(long gateVersion, long atLeast)
    {
        var gate = Volatile.Read(ref _gate);
        while ((int)(gate >> 32) == (int)gateVersion && (gate & RunningMask) >= atLeast)
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

    // Raises the record to version in one interlocked step (a full fence); false when a later lease's hand-back was
    // recorded first.
    private bool RecordHandedBack(long version)
    {
        var seen = Volatile.Read(ref _handedBack);
        while (seen < version)
        {
            var was = Interlocked.CompareExchange(ref _handedBack, version, seen);
            if (was == seen)
            {
                return true;
            }

            seen = was;
        }

        return false;
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
    public void AppendReserved(object? remove, object registration, string? key, LeaseForwarder<T>? forwarder)
    {
        ref var attachment = ref Attachments[AttachmentCount++];
        attachment.Remove = remove;
        attachment.Handler = registration;
        attachment.EventKey = key;
        attachment.Forwarder = forwarder;
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

    public bool TryMarkWarned(string eventName) => (Warned ??= new(StringComparer.Ordinal)).Add(eventName);
}
