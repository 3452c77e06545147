using System.Runtime.CompilerServices;

namespace SafeRefs.Internal;

/// <summary>
/// The "no invocation starts after Dispose returns" guarantee of one subscription, for a raise that runs without a
/// lock: counts the callers between "checked the subscription is open" and "called its handler" (starting), and the
/// handler invocations in progress (running). Closing waits only for the starting ones: a few instructions, never a
/// running handler. Shared by weak links (<c>Subscribe.WeakEvent</c>, <c>WeakSubscriptions</c>), weak events and the
/// strong tokens (<c>Subscribe.Event</c> forwarders, <c>OnCancel</c>, <c>OnChange</c>, <c>Observe</c>).
/// </summary>
/// <remarks>
/// <para>One <see cref="long"/>: bits 0–31 count starting callers, bits 32–62 running invocations, the sign bit says
/// closed. Each step is one interlocked operation, so a caller that counted itself before the close is waited for, and
/// one that counts itself after sees the sign bit and backs off. Whatever a subscription frees on close (its GC
/// handles) may be read only between <see cref="TryEnter"/> and <see cref="BeginRun"/> or <see cref="Exit"/>.</para>
/// <para>A mutable struct: keep it in a field and call it on that field, never on a copy.</para>
/// </remarks>
internal struct InvocationGate
{
    private const long ClosedBit = long.MinValue;
    private const long RunningOne = 1L << 32;
    private const long StartingMask = (1L << 32) - 1;
    private const long RunningMask = ~ClosedBit & ~StartingMask;

    private long _state;
    private TaskCompletionSource? _idle;

    /// <summary>Gets a value indicating whether the gate is closed.</summary>
    internal bool IsClosed => Volatile.Read(ref _state) < 0;

    /// <summary>Gets the number of invocations in progress.</summary>
    internal long RunningCount => (Volatile.Read(ref _state) & RunningMask) / RunningOne;

    /// <summary>Counts the caller as starting; <see langword="false"/> (and not counted) once the gate is closed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryEnter()
    {
        if (Interlocked.Increment(ref _state) < 0)
        {
            Exit();
            return false;
        }

        return true;
    }

    /// <summary>
    /// For a caller that reads nothing the close frees (a strong token): counts it as running in one operation, or
    /// returns <see langword="false"/> (not counted) once the gate is closed. Pair with <see cref="EndRun"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryBeginRun()
    {
        if (Interlocked.Add(ref _state, RunningOne) < 0)
        {
            EndRun();
            return false;
        }

        return true;
    }

    /// <summary>A starting caller that will not invoke the handler leaves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Exit() => Interlocked.Decrement(ref _state);

    /// <summary>A starting caller is about to call the handler: from starting to running, in one operation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void BeginRun() => Interlocked.Add(ref _state, RunningOne - 1);

    /// <summary>An invocation ended; the last one after closing completes <see cref="WhenIdleAsync"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void EndRun()
    {
        var state = Interlocked.Add(ref _state, -RunningOne);
        if (state < 0 && (state & RunningMask) == 0)
        {
            Volatile.Read(ref _idle)?.TrySetResult();
        }
    }

    /// <summary>
    /// Closes the gate and waits for the starting callers (never for a running handler). Must not be called by a caller
    /// that is itself starting.
    /// </summary>
    /// <returns><see langword="true"/> for the one call that closed it.</returns>
    internal bool Close()
    {
        var before = Interlocked.Or(ref _state, ClosedBit);
        var spin = default(SpinWait);
        while ((Volatile.Read(ref _state) & StartingMask) != 0)
        {
            spin.SpinOnce();
        }

        return before >= 0;
    }

    /// <summary>Completes when no invocation is running (call after <see cref="Close"/>).</summary>
    internal ValueTask WhenIdleAsync()
    {
        if ((Volatile.Read(ref _state) & RunningMask) == 0)
        {
            return default;
        }

        var idle = Volatile.Read(ref _idle)
            ?? Interlocked.CompareExchange(ref _idle, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null)
            ?? _idle;

        // The exchange is a full fence: an invocation that ends after it sees the source and completes it; one that ended
        // before is seen here.
        if ((Volatile.Read(ref _state) & RunningMask) == 0)
        {
            idle.TrySetResult();
        }

        return new ValueTask(idle.Task);
    }
}
