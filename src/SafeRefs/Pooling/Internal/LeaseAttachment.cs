using System.Runtime.InteropServices;

namespace SafeRefs.Pooling.Internal;

/// <summary>
/// One thing a lease attached: a handler (its remove accessor, the delegate the event holds and the event key) or a
/// registration (<see cref="Remove"/> is <see langword="null"/> and <see cref="Handler"/> is the registration).
/// </summary>
/// <remarks>
/// The remove accessor is kept as the caller's <c>Action&lt;T, THandler&gt;</c>: every <c>THandler</c> is a delegate
/// type, so the end calls the accessor with the very delegate it was added with, without a per-type virtual hop.
/// </remarks>
/// <typeparam name="T">The pooled type.</typeparam>
[StructLayout(LayoutKind.Auto)]
internal struct LeaseAttachment<T>
    where T : class
{
    /// <summary>The <c>Action&lt;T, THandler&gt;</c> remove accessor; <see langword="null"/> for a registration.</summary>
    public object? Remove;

    /// <summary>The delegate added to the event (a <c>THandler</c>: a forwarder or the handler), or the registration
    /// when <see cref="Remove"/> is <see langword="null"/>.</summary>
    public object? Handler;

    /// <summary>The event key for the per-lease limit; <see langword="null"/> for a registration.</summary>
    public string? EventKey;

    /// <summary>The forwarder that holds the handler, released at the end; <see langword="null"/> for a registration.</summary>
    public LeaseForwarder<T>? Forwarder;

    /// <summary>1 once an end took the registration to dispose it (one whose second disposal is not known to be safe: see <c>PoolLease.End</c>); interlocked.</summary>
    public int Claimed;

    /// <summary>Whether the handler's add accessor has not returned yet (or threw): the entry holds its room and its
    /// count for the limit, and an end leaves it to the attacher.</summary>
    public bool Pending;
}
