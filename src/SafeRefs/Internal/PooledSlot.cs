using System.Runtime.CompilerServices;
using SafeRefs.Timers;

namespace SafeRefs.Internal;

/// <summary>
/// The guard's state for one pooled object, kept with the object (a weak table keyed by it) so that its tracking
/// storage is reused by every lease: an odd <see cref="Version"/> means "out", and a lease is valid only while the
/// version it was given is current.
/// </summary>
/// <remarks>
/// <para>The slot's state is guarded by a small recursive lock with two ways in. <b>Biased:</b> a lease is biased to
/// the thread that rented it (<see cref="BiasThread"/>, written at rent while no other lease of the object exists), and
/// that thread enters with plain stores only: it publishes itself in <c>_biasBusy</c>, then checks that the bias still
/// holds. <b>Locked:</b> every other entry takes <c>_owner</c> with one compare-and-swap and then, if the lease is still
/// biased, revokes the bias: it clears <see cref="BiasThread"/>, runs <see cref="Interlocked.MemoryBarrierProcessWide"/>
/// and waits until no biased section is running. The process-wide barrier is what lets the biased side skip its own
/// store-load fence (an asymmetric Dekker handshake: after the barrier, either the revoker sees <c>_biasBusy</c> set, or
/// the biased thread sees the bias cleared). Revocations are budgeted per pool (<see cref="BiasBudget"/>): a pool whose
/// leases keep crossing threads stops biasing and pays one compare-and-swap per entry, as without bias.</para>
/// <para>A lease's end clears the bias before the object goes back to the pool, so the renting thread never sees
/// itself as biased for a later lease it did not rent. A locked holder whose lease has already ended (a stale lease)
/// does not revoke: it only reads <see cref="Version"/> and leaves, so a biased section of the object's next lease may
/// run beside it.</para>
/// <para><b>Re-entry:</b> a holder that runs user code (an add accessor, which may call <c>Dispose</c> or <c>On</c> on
/// the same lease) is recognised by its thread id: in <c>_biasBusy</c> when biased, in <c>_owner</c> when locked (quiet
/// holders, which run no user code, store <see cref="QuietHolder"/>). A waiter backs off with <see cref="SpinWait"/>,
/// which yields and sleeps when the holder is descheduled.</para>
/// </remarks>
/// <typeparam name="T">The pooled type.</typeparam>
internal sealed class PooledSlot<T>
    where T : class
{
    /// <summary>Returned by <see cref="Enter"/> / <see cref="EnterQuiet"/> when the thread already holds the slot: nothing taken.</summary>
    public const int Reentered = 0;

    /// <summary>Returned when the renting thread entered its biased lease without an interlocked operation.</summary>
    public const int Biased = 1;

    /// <summary>Returned when the caller took the slot's lock word.</summary>
    public const int Locked = 2;

    private static readonly TrackedEntry<T>[] NoEntries = [];

    /// <summary>The owner of a lock holder that runs no user code while it holds the lock, so cannot re-enter it.</summary>
    private const int QuietHolder = -1;

    private readonly BiasBudget _budget;

    /// <summary>The managed thread id of the biased thread while it is inside the slot; 0 otherwise. Set and cleared only by that thread.</summary>
    private int _biasBusy;

    /// <summary>The managed thread id of the locked holder that runs user code (<see cref="QuietHolder"/> for a quiet holder); 0 when free.</summary>
    private int _owner;

    public PooledSlot(T value, BiasBudget budget)
    {
        Value = value;
        _budget = budget;
    }

    public T Value { get; }

    /// <summary>The lease version; odd while the object is out. Written under the slot's lock except at rent.</summary>
    public int Version;

    /// <summary>
    /// The managed thread id the current lease is biased to, or 0. Written at rent (before <see cref="Version"/>), cleared
    /// by the lease's end (inside the slot) and by a revocation.
    /// </summary>
    public int BiasThread;

    public TrackedEntry<T>[] Entries = NoEntries;

    public int EntryCount;

    /// <summary>The probe's count when the object was rented; written only when a probe is configured.</summary>
    public int CountAtRent;

    /// <summary>True while this rental is counted in <c>saferefs.pool.leases.outstanding</c>.</summary>
    public bool Counted;

    public CancellationTokenSource? Cts;

    public TimerScope? Timers;

    /// <summary>Event names already warned about for this object (Node: once per emitter and event).</summary>
    public List<string>? Warned;

    /// <summary>
    /// This object's share of the pool's statistics (rented, returned, detached, leaks suspected): written only by
    /// whoever has the object out (rent, then the one end of that lease), so it needs no thread-static lookup.
    /// </summary>
    public ThreadCounters.Cell? Counters;

    public bool IsCurrent(int version) => Volatile.Read(ref Version) == version;

    /// <summary>Enters the slot for a section that runs user code (which may re-enter it).</summary>
    /// <param name="version">The caller's lease version: a caller whose lease has ended never revokes a bias.</param>
    /// <returns>What was taken: pass it to <see cref="Exit"/>.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Enter(int version)
    {
        var self = ThreadIds.Current;
        if (BiasThread == self)
        {
            var biased = TryEnterBiased(self);
            if (biased >= 0)
            {
                return biased;
            }
        }

        return Interlocked.CompareExchange(ref _owner, self, 0) == 0 ? Settle(self, version) : EnterContended(self, self, version);
    }

    /// <summary>
    /// Enters the slot for a section that runs no user code (so nothing can re-enter it from inside): an unbiased
    /// uncontended entry needs no thread id. A thread that already holds the slot (from inside an add accessor) is
    /// still recognised.
    /// </summary>
    /// <param name="version">The caller's lease version: a caller whose lease has ended never revokes a bias.</param>
    /// <returns>What was taken: pass it to <see cref="Exit"/>.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int EnterQuiet(int version)
    {
        var bias = BiasThread;
        if (bias != 0 && bias == ThreadIds.Current)
        {
            var biased = TryEnterBiased(bias);
            if (biased >= 0)
            {
                return biased;
            }
        }

        return Interlocked.CompareExchange(ref _owner, QuietHolder, 0) == 0 ? Settle(0, version) : EnterContended(0, QuietHolder, version);
    }

    /// <summary>Leaves the slot.</summary>
    /// <param name="taken">What <see cref="Enter"/> or <see cref="EnterQuiet"/> returned.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Exit(int taken)
    {
        if (taken == Biased)
        {
            Volatile.Write(ref _biasBusy, 0);
        }
        else if (taken == Locked)
        {
            Volatile.Write(ref _owner, 0);
        }
    }

    /// <summary>Ends the bias of the current lease from inside the slot (its end): done before the object can be rented again.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ClearBias()
    {
        if (BiasThread != 0)
        {
            Volatile.Write(ref BiasThread, 0);
        }
    }

    /// <summary>The biased way in, for the thread the lease is biased to.</summary>
    /// <returns><see cref="Biased"/>, <see cref="Reentered"/>, or -1 to take the lock word instead.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int TryEnterBiased(int self)
    {
        var busy = _biasBusy;
        if (busy == self)
        {
            return Reentered;
        }

        if (busy == 0)
        {
            Volatile.Write(ref _biasBusy, self);

            // The store above must come before the load of the bias in the emitted code: reading the stored location
            // back (a read cannot move above a write to the same location) with acquire semantics (the bias load cannot
            // move above it) pins that order for the compiler. The hardware's store-load reordering is what the
            // revoker's process-wide barrier covers (every thread passes a full fence at some point of its run).
            if (Volatile.Read(ref _biasBusy) == self && Volatile.Read(ref BiasThread) == self)
            {
                return Biased;
            }

            Volatile.Write(ref _biasBusy, 0);
        }

        // Revoked, or a previous biased holder is still inside (its lease ended from its own add accessor).
        return -1;
    }

    /// <summary>After taking the lock word: no biased section may run beside a holder of a current lease.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Settle(int self, int version)
    {
        // The version first (acquire): a holder of the current lease then sees the bias written at its rent. A holder
        // whose lease has ended only reads the version and leaves, so it neither revokes nor waits.
        if (Volatile.Read(ref Version) == version && (BiasThread | _biasBusy) != 0)
        {
            SettleSlow(self, version);
        }

        return Locked;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SettleSlow(int self, int version)
    {
        // A caller whose lease has ended only reads the version and leaves: it neither revokes nor waits.
        if (Volatile.Read(ref Version) != version)
        {
            return;
        }

        // Read after the version (acquire): a lease rented after the bias was written sees its bias here.
        if (Volatile.Read(ref BiasThread) != 0)
        {
            _budget.Spend();
            Volatile.Write(ref BiasThread, 0);

            // Every thread of the process passes a full fence: from here on the biased thread sees the bias cleared
            // (and takes the lock word), or its _biasBusy store is visible below.
            Interlocked.MemoryBarrierProcessWide();
        }

        var busy = Volatile.Read(ref _biasBusy);
        if (busy == 0)
        {
            return;
        }

        if (self == 0)
        {
            self = ThreadIds.Current;
        }

        if (busy == self)
        {
            // This thread is inside its own biased section (re-entered from user code after the bias was cleared).
            return;
        }

        var spinner = default(SpinWait);
        while (Volatile.Read(ref _biasBusy) != 0)
        {
            spinner.SpinOnce();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int EnterContended(int self, int holder, int version)
    {
        // Only holders that run user code store their thread id (_owner for a locked holder, _biasBusy for a biased
        // one), and only they can be re-entered: compare with this thread's id, never with the quiet marker.
        if (self == 0)
        {
            self = ThreadIds.Current;
        }

        if (Volatile.Read(ref _biasBusy) == self || Volatile.Read(ref _owner) == self)
        {
            return Reentered;
        }

        var spinner = default(SpinWait);
        do
        {
            spinner.SpinOnce();
        }
        while (Volatile.Read(ref _owner) != 0 || Interlocked.CompareExchange(ref _owner, holder, 0) != 0);

        SettleSlow(self, version);
        return Locked;
    }

    /// <summary>Makes room for one more entry, so that the <see cref="Append"/> after an add accessor cannot fail.</summary>
    public void Reserve()
    {
        if (EntryCount == Entries.Length)
        {
            Array.Resize(ref Entries, Math.Max(4, Entries.Length * 2));
        }
    }

    public void Append(in TrackedEntry<T> entry)
    {
        Reserve();
        Entries[EntryCount++] = entry;
    }

    /// <summary>Tracks a handler in the room <see cref="Reserve"/> made.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AppendReserved(object remove, object handler, string key)
    {
        ref var entry = ref Entries[EntryCount++];
        entry.Remove = remove;
        entry.Handler = handler;
        entry.EventKey = key;
    }

    public int CountFor(string key)
    {
        var count = 0;
        for (var i = 0; i < EntryCount; i++)
        {
            var other = Entries[i].EventKey;
            if (ReferenceEquals(other, key) || (other is not null && string.Equals(other, key, StringComparison.Ordinal)))
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
