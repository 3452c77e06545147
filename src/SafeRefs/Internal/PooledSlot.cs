using SafeRefs.Timers;

namespace SafeRefs.Internal;

/// <summary>
/// The guard's state for one pooled object, kept with the object (a weak table keyed by it) so that its tracking
/// storage is reused by every lease: an odd <see cref="Version"/> means "out", and a lease is valid only while the
/// version it was given is current.
/// </summary>
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

    public Lock Gate { get; } = new();

    /// <summary>The lease version; odd while the object is out. Written under <see cref="Gate"/> except at rent.</summary>
    public int Version;

    public TrackedEntry<T>[] Entries = NoEntries;

    public int EntryCount;

    public int CountAtRent;

    public bool Leased;

    /// <summary>True while this rental is counted in <c>saferefs.pool.leases.outstanding</c>.</summary>
    public bool Counted;

    public CancellationTokenSource? Cts;

    public TimerScope? Timers;

    /// <summary>Event names already warned about for this object (Node: once per emitter and event).</summary>
    public List<string>? Warned;

    public bool IsCurrent(int version) => Volatile.Read(ref Version) == version;

    public void Append(in TrackedEntry<T> entry)
    {
        if (EntryCount == Entries.Length)
        {
            Array.Resize(ref Entries, Math.Max(4, Entries.Length * 2));
        }

        Entries[EntryCount++] = entry;
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
