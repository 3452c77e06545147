using System.Runtime.CompilerServices;

namespace SafeRefs.Internal;

/// <summary>
/// "No invocation starts after <c>Dispose</c> returns" for ONE subscription's callback, raised without a lock: the
/// strong tokens (<c>Subscribe.Event</c> forwarders, <c>OnCancel</c>, <c>OnChange</c>, <c>Observe</c>) and the weak
/// links (<c>Subscribe.WeakEvent</c>, <c>WeakSubscriptions</c>). A LIST raise (a weak event's <c>Subscribe</c>
/// handlers) uses <see cref="Events.Internal.RaiseSlot"/> instead: one interlocked operation per handler on the raise's own
/// record rather than this gate's pair on each handler.
/// </summary>
/// <remarks>
/// <para>One <see cref="long"/>: bits 0–62 count the admitted callers, the sign bit says closed. Admitting is a
/// compare-and-swap that fails once the bit is set, so no caller is ever counted on a closed gate; closing never waits.
/// A caller admitted before the close counts as started (<c>DisposeAsync</c> waits for it); one after is refused. So
/// exactly one <see cref="Exit"/>, the last one out after the close, sees the closed gate empty: the caller that may
/// free what the gate guards.</para>
/// <para>A mutable struct: keep it in a field and call it on that field, never on a copy.</para>
/// </remarks>
internal struct InvocationGate
{
    private const long ClosedBit = long.MinValue;

    private long _state;
    private TaskCompletionSource? _idle;

    /// <summary>
    /// Test seam: called by <see cref="WhenIdleAsync"/> on its waiting path, after it read a non-zero count and before it
    /// publishes its completion source (the window its re-check guards against the last <see cref="Exit"/>). Not on a
    /// hot path; <see langword="null"/> outside tests.
    /// </summary>
    internal static Action? BeforeIdlePublishHook { get; set; }

    /// <summary>Gets a value indicating whether the gate is closed.</summary>
    internal bool IsClosed => Volatile.Read(ref _state) < 0;

    /// <summary>Gets the number of admitted callers (invocations in progress and readers).</summary>
    internal long Count => Volatile.Read(ref _state) & ~ClosedBit;

    /// <summary>Admits the caller; <see langword="false"/> (and not counted) once the gate is closed. Pair with <see cref="Exit"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryEnter()
    {
        // Guess an open, empty gate: uncontended, admitting is one compare-and-swap; a wrong guess returns the next one.
        var state = 0L;
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref _state, state + 1, state);
            if (seen == state)
            {
                return true;
            }

            if (seen < 0)
            {
                return false;
            }

            state = seen;
        }
    }

    /// <summary>An admitted caller leaves; the last one out of a closed gate completes <see cref="WhenIdleAsync"/>.</summary>
    /// <returns><see langword="true"/> for the one caller that left the closed gate empty.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool Exit()
    {
        if (Interlocked.Decrement(ref _state) != ClosedBit)
        {
            return false;
        }

        Volatile.Read(ref _idle)?.TrySetResult();
        return true;
    }

    /// <summary>Closes the gate; never waits (an admitted caller counts as started).</summary>
    /// <returns><see langword="true"/> for the one call that closed it.</returns>
    internal bool Close() => Interlocked.Or(ref _state, ClosedBit) >= 0;

    /// <summary>
    /// Closes the gate for a closer that then reads what the gate guards, in one compare-and-swap: with nobody admitted
    /// it is the only reader for ever (not admitted: it frees when done); otherwise it is admitted too and leaves with
    /// <see cref="Exit"/>, so the last one out still frees.
    /// </summary>
    /// <param name="admitted">Whether the caller was admitted (others were): then it must call <see cref="Exit"/>.</param>
    /// <returns><see langword="true"/> for the one call that closed it.</returns>
    internal bool CloseToRead(out bool admitted)
    {
        // Guess an open, empty gate, as TryEnter does.
        var state = 0L;
        while (true)
        {
            var next = state == 0 ? ClosedBit : (state + 1) | ClosedBit;
            var seen = Interlocked.CompareExchange(ref _state, next, state);
            if (seen == state)
            {
                admitted = state != 0;
                return true;
            }

            if (seen < 0)
            {
                admitted = false;
                return false;
            }

            state = seen;
        }
    }

    /// <summary>Completes when no admitted caller is left (call after <see cref="Close"/>).</summary>
    internal ValueTask WhenIdleAsync()
    {
        if (Count == 0)
        {
            return default;
        }

        BeforeIdlePublishHook?.Invoke();
        var idle = Volatile.Read(ref _idle)
            ?? Interlocked.CompareExchange(ref _idle, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null)
            ?? _idle;

        // The exchange is a full fence: a caller that leaves after it sees the source and completes it; one that left
        // before is seen here.
        if (Count == 0)
        {
            idle.TrySetResult();
        }

        return new ValueTask(idle.Task);
    }
}
