using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using SafeRefs.Internal;

namespace SafeRefs.Subscriptions;

/// <summary>
/// A token for one attachment (an event handler, a cancellation callback, a change-token consumer, a timer…)
/// that detaches it when disposed.
/// </summary>
/// <remarks>
/// <para><b>Holds</b> strongly whatever its mechanism needs to detach (for a plain event: the source, the
/// remove accessor and the handler) until it is disposed, then nothing. It never keeps anything alive by itself
/// beyond its own lifetime: drop the token and only the attachment's own references remain.</para>
/// <para><b>Thread safety:</b> all members are thread-safe. Concurrent <see cref="Dispose"/> calls detach
/// exactly once; <see cref="Dispose"/> never blocks on a callback that is running.</para>
/// <para><b>Second <see cref="Dispose"/>:</b> does nothing. A <see cref="DisposeAsync"/> after an earlier
/// <see cref="Dispose"/> detaches nothing but still waits for a callback that is running.</para>
/// <para>Not derivable outside SafeRefs (it has no accessible constructor). Inside, a weak event link is its own token,
/// so that a weak subscription is one object besides the delegate the source holds.</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1063:Implement IDisposable Correctly", Justification = "No finalizer and no accessible constructor: only SafeRefs' own links derive from it, and they detach through the detacher.")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA1816:Dispose methods should call SuppressFinalize", Justification = "No finalizer here or in the internal derived links; a call would only cost time.")]
public class Subscription : IDisposable, IAsyncDisposable
{
    private Detacher? _detacher;
    private readonly object? _arg0;
    private object? _arg1;
    private object? _arg2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Subscription(Detacher detacher, object? arg0, object? arg1, object? arg2)
    {
        _detacher = detacher;
        _arg0 = arg0;
        _arg1 = arg1;
        _arg2 = arg2;
    }

    /// <summary>For a mechanism that is its own token: the first detach argument is the token itself (left empty: read as <see langword="this"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected Subscription(Detacher detacher, object? arg1, object? arg2)
    {
        _detacher = detacher;
        _arg1 = arg1;
        _arg2 = arg2;
    }

    // The empty token is born disposed.
    private Subscription()
    {
    }

    /// <summary>Gets a subscription that is attached to nothing; disposing it does nothing.</summary>
    /// <value>A shared, inactive instance.</value>
    public static Subscription Empty { get; } = new();

    /// <summary>Gets a value indicating whether the attachment is still in place (not yet disposed).</summary>
    /// <value><see langword="true"/> until the first <see cref="Dispose"/> or <see cref="DisposeAsync"/> call.</value>
    public bool IsActive => Volatile.Read(ref _detacher) is { IsSpent: false };

    internal object? Arg0 => _arg0 ?? this;

    internal object? Arg1 => _arg1;

    internal object? Arg2 => _arg2;

    /// <summary>
    /// Detaches the handler. Idempotent and thread-safe; after it returns no new invocation of the handler starts
    /// through this subscription. It does not wait for an invocation that is already running.
    /// </summary>
    public void Dispose() => _ = TryDetach(out _);

    /// <summary>
    /// Detaches the handler, then completes when a callback of this subscription that was running has finished
    /// (for mechanisms that can observe their callbacks; a plain .NET event completes at once). Also waits after an
    /// earlier <see cref="Dispose"/>. If detaching throws (a <c>remove</c> accessor), the subscription is detached all
    /// the same and the returned task faults with that exception once no callback is running; it never throws itself.
    /// </summary>
    /// <returns>A task that completes when no callback of this subscription is running.</returns>
    public ValueTask DisposeAsync()
    {
        Detacher? detacher = null;
        try
        {
            _ = TryDetach(out detacher);
        }
#pragma warning disable CA1031 // Not swallowed: the returned task faults with it, after the wait.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return ThrowWhenIdleAsync(WhenCallbacksIdleAsync(detacher), ExceptionDispatchInfo.Capture(ex));
        }

        return WhenCallbacksIdleAsync(detacher);
    }

    private static async ValueTask ThrowWhenIdleAsync(ValueTask idle, ExceptionDispatchInfo error)
    {
        await idle.ConfigureAwait(false);
        error.Throw();
    }

    // The detacher is set before a detach that throws, so the wait is there either way.
    private ValueTask WhenCallbacksIdleAsync(Detacher? detacher) =>
        detacher is null ? default : detacher.WhenCallbacksIdleAsync(_arg0 ?? this, _arg1, _arg2);

    /// <summary>
    /// Swaps the detacher for its spent form (which detaches nothing but can still wait for callbacks) and detaches
    /// if this call made the swap. A token that claims its detach on its own (a gated token, with its gate) overrides it.
    /// </summary>
    /// <param name="detacher">The detacher that detached this token, now or before; <see langword="null"/> for <see cref="Empty"/>.</param>
    /// <returns><see langword="true"/> for the one call that detached.</returns>
    private protected virtual bool TryDetach(out Detacher? detacher)
    {
        var current = Volatile.Read(ref _detacher);
        while (current is not null && !current.IsSpent)
        {
            var seen = Interlocked.CompareExchange(ref _detacher, current.Spent, current);
            if (ReferenceEquals(seen, current))
            {
                detacher = current;
                current.Detach(_arg0 ?? this, _arg1, _arg2);
                return true;
            }

            current = seen;
        }

        detacher = current?.Original;
        return false;
    }

    /// <summary>
    /// For an override of <see cref="TryDetach"/> that claimed the detach on its own: records it, so that
    /// <see cref="IsActive"/> reads <see langword="false"/> and a later <see cref="DisposeAsync"/> still waits.
    /// </summary>
    /// <returns>The detacher to detach with.</returns>
    private protected Detacher MarkDetached()
    {
        var detacher = Volatile.Read(ref _detacher)!.Original;
        Volatile.Write(ref _detacher, detacher.Spent);
        return detacher;
    }

    /// <summary>
    /// For a token whose detacher waits through the token itself: drops the second and third detach arguments once the detach ran
    /// (or failed), so that a disposed token holds neither the source nor its remove accessor.
    /// </summary>
    private protected void ReleaseDetachArgs()
    {
        Volatile.Write(ref _arg1, null);
        Volatile.Write(ref _arg2, null);
    }

    /// <summary>Gets the token's detacher (its original form once spent), for an override of <see cref="TryDetach"/>.</summary>
    private protected Detacher OriginalDetacher => Volatile.Read(ref _detacher)!.Original;
}
