using System.Runtime.CompilerServices;
using SafeRefs.Timers;

namespace SafeRefs.Internal;

/// <summary>
/// The guard's state for one pooled object, kept with the object (a weak table keyed by it) so that its tracking
/// storage is reused by every lease: an odd <see cref="Version"/> means "out", and a lease is valid only while the
/// version it was given is current.
/// </summary>
/// <remarks>
/// The slot's state is guarded by a small recursive spin lock (<see cref="Enter(int)"/> or <see cref="EnterQuiet"/> /
/// <see cref="Exit"/>): one compare-and-swap to enter and a plain store to leave, where <see cref="Lock"/> costs two
/// interlocked operations and more bookkeeping. Only a holder that runs user code (an add accessor, which may
/// re-enter through <c>Dispose</c>) records its thread id; the others enter without looking it up. Sections are short (bookkeeping plus the caller's add accessor), and a waiter backs off
/// with <see cref="SpinWait"/>, which yields and sleeps when the holder is descheduled.
/// </remarks>
/// <typeparam name="T">The pooled type.</typeparam>
internal sealed class PooledSlot<T>
    where T : class
{
    private static readonly TrackedEntry<T>[] NoEntries = [];

    public PooledSlot(T value)
    {
        Value = value;
    }

    public T Value { get; }

    /// <summary>The lease version; odd while the object is out. Written under the slot's lock except at rent.</summary>
    public int Version;

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

    /// <summary>The owner of a lock holder that runs no user code while it holds the lock, so cannot re-enter it.</summary>
    private const int QuietHolder = -1;

    /// <summary>This thread's managed thread id once looked up (a thread-static read the JIT inlines, where
    /// <see cref="Environment.CurrentManagedThreadId"/> is a call).</summary>
    [ThreadStatic]
    private static int _threadId;

    /// <summary>The managed thread id of the thread inside the slot's lock (<see cref="QuietHolder"/> for a quiet holder); 0 when free.</summary>
    private int _owner;

    public bool IsCurrent(int version) => Volatile.Read(ref Version) == version;

    /// <summary>Enters the slot's lock.</summary>
    /// <returns><see langword="true"/> if this call took the lock (pass it to <see cref="Exit"/>); <see langword="false"/> if the thread already held it.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Enter() => Enter(CurrentThreadId());

    /// <summary>Enters the slot's lock on behalf of the calling thread, whose managed thread id the caller already has.</summary>
    /// <param name="thread">The calling thread's <see cref="Environment.CurrentManagedThreadId"/>.</param>
    /// <returns><see langword="true"/> if this call took the lock (pass it to <see cref="Exit"/>); <see langword="false"/> if the thread already held it.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Enter(int thread) => Interlocked.CompareExchange(ref _owner, thread, 0) == 0 || EnterSlow(thread);

    /// <summary>
    /// Enters the slot's lock for a section that runs no user code (so nothing can re-enter it from inside): the
    /// uncontended path needs no thread id. A thread that already holds the lock (from inside an add accessor) is
    /// still recognised.
    /// </summary>
    /// <returns><see langword="true"/> if this call took the lock (pass it to <see cref="Exit"/>); <see langword="false"/> if the thread already held it.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool EnterQuiet() => Interlocked.CompareExchange(ref _owner, QuietHolder, 0) == 0 || EnterSlow(QuietHolder);

    /// <summary>Leaves the slot's lock if <paramref name="taken"/>.</summary>
    /// <param name="taken">What <see cref="Enter(int)"/> or <see cref="EnterQuiet"/> returned.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Exit(bool taken)
    {
        if (taken)
        {
            Volatile.Write(ref _owner, 0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CurrentThreadId()
    {
        var id = _threadId;
        return id != 0 ? id : _threadId = Environment.CurrentManagedThreadId;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool EnterSlow(int holder)
    {
        // Only a holder that runs user code (an add accessor) stores its thread id, and only such a holder can be
        // re-entered: compare with this thread's id, never with the quiet marker.
        var self = holder == QuietHolder ? CurrentThreadId() : holder;
        if (Volatile.Read(ref _owner) == self)
        {
            return false;
        }

        var spinner = default(SpinWait);
        do
        {
            spinner.SpinOnce();
        }
        while (Volatile.Read(ref _owner) != 0 || Interlocked.CompareExchange(ref _owner, holder, 0) != 0);

        return true;
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
