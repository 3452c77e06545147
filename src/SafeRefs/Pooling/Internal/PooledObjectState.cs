using SafeRefs.Timers;

namespace SafeRefs.Pooling.Internal;

/// <summary>
/// The guard's state for one pooled object, kept with the object (a weak table keyed by it) so that its storage is
/// reused by every lease. An odd <see cref="Version"/> means "out"; a lease is valid only while the version it was
/// given is current.
/// </summary>
/// <remarks>
/// Every field is guarded by <see cref="Lock"/>, except at rent, when the object is in nobody else's hands (a stale
/// lease of an earlier version only reads <see cref="Version"/> under the lock and leaves). The lock is re-entrant:
/// an add accessor that runs under it may end the lease or attach again on the same thread.
/// </remarks>
/// <typeparam name="T">The pooled type.</typeparam>
internal sealed class PooledObjectState<T>
    where T : class
{
    private static readonly LeaseAttachment<T>[] NoAttachments = [];

    public PooledObjectState(T value) => Value = value;

    public T Value { get; }

    public Lock Lock { get; } = new();

    /// <summary>The lease version; odd while the object is out.</summary>
    public int Version;

    public LeaseAttachment<T>[] Attachments = NoAttachments;

    public int AttachmentCount;

    /// <summary>The probe's count when the object was rented; written only when a probe is configured.</summary>
    public int CountAtRent;

    public CancellationTokenSource? Cts;

    public TimerScope? Timers;

    /// <summary>Event names already warned about for this object (Node: once per emitter and event).</summary>
    public List<string>? Warned;

    public bool IsCurrent(int version) => Volatile.Read(ref Version) == version;

    /// <summary>Makes room for one more attachment, so that tracking after an add accessor ran cannot fail.</summary>
    public void Reserve()
    {
        if (AttachmentCount == Attachments.Length)
        {
            Array.Resize(ref Attachments, Math.Max(4, Attachments.Length * 2));
        }
    }

    /// <summary>Tracks an attachment in the room <see cref="Reserve"/> made.</summary>
    public void AppendReserved(IDisposable registration, string? key)
    {
        ref var attachment = ref Attachments[AttachmentCount++];
        attachment.Registration = registration;
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
