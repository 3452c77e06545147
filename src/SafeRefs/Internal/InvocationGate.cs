using System.Runtime.CompilerServices;

namespace SafeRefs.Internal;

/// <summary>
/// The "no invocation starts after Dispose returns" guarantee of one subscription, for a raise that runs without a
/// lock: counts the callers it admitted (an invocation of the handler, or a caller reading what the subscription frees
/// once closed) and says whether it is closed. Shared by <see cref="WeakLinkCore"/> (weak links) and the strong tokens
/// (<c>Subscribe.Event</c> forwarders, <c>OnCancel</c>, <c>OnChange</c>, <c>Observe</c>). The weak events' handler lists
/// use their raise slots instead: a raise calls many handlers in a row, and one interlocked operation per handler on
/// the raise's own slot replaces this gate's pair on each handler.
/// </summary>
/// <remarks>
/// <para>One <see cref="long"/>: bits 0–62 count the admitted callers, the sign bit says closed. Admitting is a
/// compare-and-swap (one when uncontended) that fails once the bit is set, so no caller is ever counted on a closed
/// gate; closing is one interlocked operation and never waits. A caller admitted before the close counts as started
/// (<c>DisposeAsync</c> waits for it through <see cref="WhenIdleAsync"/>); one that comes after is refused. So after a
/// closed gate has been left empty nobody is admitted again: exactly one <see cref="Exit"/> (the last one out after
/// the close) sees it, and that is the caller that may free what the gate guards.</para>
/// <para>A mutable struct: keep it in a field and call it on that field, never on a copy.</para>
/// </remarks>
internal struct InvocationGate
{
    private const long ClosedBit = long.MinValue;

    private long _state;
    private TaskCompletionSource? _idle;

    /// <summary>Gets a value indicating whether the gate is closed.</summary>
    internal bool IsClosed => Volatile.Read(ref _state) < 0;

    /// <summary>Gets the number of admitted callers (invocations in progress and readers).</summary>
    internal long Count => Volatile.Read(ref _state) & ~ClosedBit;

    /// <summary>Admits the caller; <see langword="false"/> (and not counted) once the gate is closed. Pair with <see cref="Exit"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryEnter()
    {
        // Guess an open, empty gate (a raise on one thread): then admitting is the one compare-and-swap, with no read
        // before it. A wrong guess returns the state, the next guess.
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
    internal bool Close() => Close(out _);

    /// <summary>Closes the gate; never waits.</summary>
    /// <param name="idle">Whether nobody was admitted at the close: then no <see cref="Exit"/> will see the gate
    /// left empty, and the closer takes the last one out's part.</param>
    /// <returns><see langword="true"/> for the one call that closed it.</returns>
    internal bool Close(out bool idle)
    {
        var before = Interlocked.Or(ref _state, ClosedBit);
        idle = before == 0;
        return before >= 0;
    }

    /// <summary>
    /// Closes the gate for a closer that then reads what the gate guards, in one compare-and-swap: when nobody is
    /// admitted, the close alone makes the caller the only reader for ever, so it is not admitted and takes the last one
    /// out's part; otherwise the same operation also admits it, and it leaves with <see cref="Exit"/>.
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

    /// <summary>Completes when no admitted caller is left (call after <see cref="Close()"/>).</summary>
    internal ValueTask WhenIdleAsync()
    {
        if (Count == 0)
        {
            return default;
        }

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
