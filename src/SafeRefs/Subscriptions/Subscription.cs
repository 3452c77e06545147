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
/// <para>Not derivable outside SafeRefs (it has no accessible constructor).</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1063:Implement IDisposable Correctly", Justification = "No finalizer and no accessible constructor: only SafeRefs' own tokens derive from it, and they detach through Detach.")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA1816:Dispose methods should call SuppressFinalize", Justification = "No finalizer here or in the internal derived tokens; a call would only cost time.")]
public class Subscription : IDisposable, IAsyncDisposable, IIdleAwaitable
{
    // The empty token, and SafeRefs' own tokens: each keeps what its mechanism needs in its own fields.
    private protected Subscription()
    {
    }

    /// <summary>Gets a subscription that is attached to nothing; disposing it does nothing.</summary>
    /// <value>A shared, inactive instance.</value>
    public static Subscription Empty { get; } = new();

    /// <summary>Gets a value indicating whether the attachment is still in place (not yet disposed).</summary>
    /// <value><see langword="true"/> until the first <see cref="Dispose"/> or <see cref="DisposeAsync"/> call.</value>
    public bool IsActive => !IsDisposed;

    /// <summary>Gets a value indicating whether <see cref="Dispose"/> or <see cref="DisposeAsync"/> was called (the empty token is born disposed).</summary>
    private protected virtual bool IsDisposed => true;

    /// <summary>
    /// Detaches the handler. Idempotent and thread-safe; after it returns no new invocation of the handler starts
    /// through this subscription. It does not wait for an invocation that is already running.
    /// </summary>
    public void Dispose() => Detach();

    /// <summary>
    /// Detaches the handler, then completes when a callback of this subscription that was running has finished
    /// (for mechanisms that can observe their callbacks; a plain .NET event completes at once). Also waits after an
    /// earlier <see cref="Dispose"/>. If detaching throws (a <c>remove</c> accessor), the subscription is detached all
    /// the same and the returned task faults with that exception once no callback is running; it never throws itself.
    /// </summary>
    /// <returns>A task that completes when no callback of this subscription is running; it faults with
    /// <see cref="InvalidOperationException"/> when awaited inside the subscription's own asynchronous handler (an
    /// <c>AsyncWeakEvent</c> handler, also after an <see langword="await"/> in it), which it would wait for forever.</returns>
    /// <remarks>Started inside one of the subscription's own synchronous callbacks (an event handler, a cancellation
    /// callback, a change-token consumer, an observer's notification), the task waits for that call too and completes
    /// once it has returned: an <see langword="async"/> handler may await it (it resumes after its call returned), but
    /// blocking on it there waits forever; call <see cref="Dispose"/> there instead.</remarks>
    public ValueTask DisposeAsync() => DisposeThenWait(checkOwnCallback: true);

    /// <summary>
    /// Gets whether the caller runs inside a callback of this subscription that <see cref="DisposeAsync"/> would wait
    /// for, also after an <see langword="await"/> in it (an <c>AsyncWeakEvent</c> handler): there it faults instead.
    /// </summary>
    internal virtual bool IsCallingFromOwnCallback => false;

    bool IIdleAwaitable.IsCallingFromOwnCallback => IsCallingFromOwnCallback;

    ValueTask IIdleAwaitable.DisposeThenWhenIdleAsync() => DisposeThenWait(checkOwnCallback: false);

    private ValueTask DisposeThenWait(bool checkOwnCallback)
    {
        Exception? failure = null;
        try
        {
            Detach();
        }
#pragma warning disable CA1031 // Not swallowed: the returned task faults with it, after the wait.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = ex;
        }

        if (checkOwnCallback && IsCallingFromOwnCallback)
        {
            // Checked also when detaching threw: waiting to rethrow would wait for this callback too.
            return ValueTask.FromException(new InvalidOperationException(
                "Subscription.DisposeAsync was awaited inside the subscription's own handler, which it would wait for forever. Call Dispose there instead.",
                failure));
        }

        return failure is null ? WhenCallbacksIdleAsync() : ThrowWhenIdleAsync(WhenCallbacksIdleAsync(), ExceptionDispatchInfo.Capture(failure));
    }

    /// <summary>
    /// Detaches on the first call (of any thread); later calls do nothing. May throw what the mechanism's user code
    /// threw (a <c>remove</c> accessor): the token is disposed all the same.
    /// </summary>
    private protected virtual void Detach()
    {
    }

    /// <summary>
    /// Completes when a callback of this subscription that was running when it was detached has finished. Mechanisms
    /// that cannot observe their callbacks (a plain .NET event) complete at once.
    /// </summary>
    private protected virtual ValueTask WhenCallbacksIdleAsync() => default;

    private static async ValueTask ThrowWhenIdleAsync(ValueTask idle, ExceptionDispatchInfo error)
    {
        await idle.ConfigureAwait(false);
        error.Throw();
    }
}
