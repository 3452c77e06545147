using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Primitives;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>
/// <c>ChangeToken.OnChange</c> with a detach that never waits for a running consumer. Same order as the BCL: when a
/// token fires, take the next token from the producer, run the consumer, then register on that token, so a change
/// signalled while the consumer runs fires the new registration and runs the consumer again.
/// </summary>
/// <remarks>
/// Where the BCL recurses (a token that has already changed invokes the callback inside
/// <c>RegisterChangeCallback</c>), this loops on the same thread, and gives up with
/// <see cref="InvalidOperationException"/> after <see cref="MaxInlineChanges"/> consecutive tokens that had already
/// changed: a producer stuck on a changed token cannot overflow the stack. Exceptions from the producer and the
/// consumer go to the caller of the operation that ran them (the thread that signalled the token, or the caller of
/// <c>Subscribe.OnChange</c>), as with the BCL; after a consumer failure the chain stays registered, after a producer
/// failure it ends.
/// </remarks>
internal sealed class ChangeTokenSubscription : GatedSubscription
{
    /// <summary>The most consecutive already-changed tokens one thread goes through before giving up.</summary>
    internal const int MaxInlineChanges = 4096;

    private static readonly Action<object?> OnFiredCallback = static state => ((Registration)state!).OnFired();

    /// <summary>
    /// Test seam: called by a registration that did not fire at once, after <c>RegisterChangeCallback</c> returned and
    /// before its handle is published (the window the re-check in <c>SetHandle</c> guards against a detach).
    /// <see langword="null"/> outside tests.
    /// </summary>
    internal static Action<ChangeTokenSubscription>? BeforeSetHandleHook { get; set; }

    private Func<IChangeToken?>? _producer;
    private Action? _consumer;
    private Registration? _current;

    private ChangeTokenSubscription(Func<IChangeToken?> producer, Action consumer)
    {
        _producer = producer;
        _consumer = consumer;
    }

    /// <summary>Takes the first token and registers on it (running the consumer now if it has already changed).</summary>
    /// <exception cref="Exception">Whatever the producer or the consumer threw, or too many changed tokens in a row:
    /// then the chain is stopped and nothing is counted.</exception>
    internal static ChangeTokenSubscription Start(Func<IChangeToken?> producer, Action consumer)
    {
        var subscription = new ChangeTokenSubscription(producer, consumer);

        // Counted first, so that stopping a chain that failed here is the ordinary dispose, with its count.
        Metrics.SubscriptionInstruments.Attached();
        try
        {
            subscription.RunFrom(producer());
        }
        catch
        {
            // The caller gets no token to stop the chain with: stop it here.
            subscription.Dispose();
            throw;
        }

        return subscription;
    }

    /// <summary>Stops the chain (after the gate closed): no consumer run starts.</summary>
    private protected override void DetachSource()
    {
        // A registration whose callback has started is left alone: it has fired, and disposing it could wait for it.
        var current = Interlocked.Exchange(ref _current, Registration.Detached);
        current?.Cancel();
    }

    /// <summary>
    /// A disposed token keeps neither the producer nor the consumer. Callers admitted by the gate read them before
    /// entering, so one that reads null would not have been admitted anyway.
    /// </summary>
    private protected override void ReleaseCallback()
    {
        Volatile.Write(ref _producer, null);
        Volatile.Write(ref _consumer, null);
    }

    /// <summary>A registration fired on another thread or later: one BCL <c>OnChangeTokenFired</c>, as a loop.</summary>
    private void OnFired()
    {
        ExceptionDispatchInfo? failure = null;
        if (TryStep(out var next, ref failure))
        {
            RunFrom(next, failure);
        }
    }

    /// <summary>
    /// Registers on <paramref name="token"/>; while it turns out to have changed already (its callback ran inline),
    /// takes the next token, runs the consumer and registers again, as the BCL's recursion would.
    /// </summary>
    /// <param name="token">The token to register on.</param>
    /// <param name="failure">A consumer failure of the step that took <paramref name="token"/>.</param>
    private void RunFrom(IChangeToken? token, ExceptionDispatchInfo? failure = null)
    {
        var inline = 0;
        while (token is not null && Register(token))
        {
            if (++inline > MaxInlineChanges)
            {
                throw new InvalidOperationException(
                    $"The change-token producer returned {MaxInlineChanges} tokens in a row that had already changed; the chain was stopped instead of looping forever.");
            }

            if (!TryStep(out token, ref failure))
            {
                break;
            }
        }

        failure?.Throw();
    }

    /// <summary>
    /// One step of the chain, inside the gate: takes the next token from the producer, then runs the consumer.
    /// </summary>
    /// <param name="next">The producer's token.</param>
    /// <param name="failure">Set to the consumer's failure, which replaces an earlier one: as the BCL registers in a
    /// <see langword="finally"/> (where an inline callback recurses), the latest failure of a change wins, and a
    /// producer failure or a failed registration, thrown at once, replaces the consumer's.</param>
    /// <returns><see langword="false"/> (no consumer ran) when the subscription was disposed, before or while the
    /// producer ran.</returns>
    private bool TryStep(out IChangeToken? next, ref ExceptionDispatchInfo? failure)
    {
        next = null;
        var producer = Volatile.Read(ref _producer);
        var consumer = Volatile.Read(ref _consumer);
        if (producer is null || consumer is null || !TryEnter())
        {
            return false;
        }

        try
        {
            next = producer();
        }
        catch
        {
            Leave();
            throw;
        }

        // The producer is user code and may run long: a Dispose that returned meanwhile counted this run as started,
        // but its consumer has not, and must not.
        if (IsDisposed)
        {
            Leave();
            return false;
        }

        try
        {
            consumer();
        }
        catch (Exception ex)
        {
            failure = ExceptionDispatchInfo.Capture(ex);
        }
        finally
        {
            Leave();
        }

        return true;
    }

    /// <summary>Registers on <paramref name="token"/>.</summary>
    /// <returns><see langword="true"/> if the callback ran inline (the token had already changed): the caller loops.</returns>
    private bool Register(IChangeToken token)
    {
        var registration = new Registration(this);
        var previous = Interlocked.Exchange(ref _current, registration);
        if (ReferenceEquals(previous, Registration.Detached))
        {
            _current = Registration.Detached;
            return false;
        }

        var handle = token.RegisterChangeCallback(OnFiredCallback, registration);
        registration.RegisteringThread = 0;
        if (registration.FiredInline)
        {
            handle?.Dispose();
            return true;
        }

        if (token.HasChanged && token.ActiveChangeCallbacks)
        {
            // Fired (or firing) on another thread; as the BCL, keep nothing.
            handle?.Dispose();
            return false;
        }

        BeforeSetHandleHook?.Invoke(this);
        registration.SetHandle(handle);
        return false;
    }

    /// <summary>One registration on one token: whichever comes first of its callback and a detach wins it.</summary>
    private sealed class Registration
    {
        public static readonly Registration Detached = new(null);

        private const int Pending = 0;
        private const int Fired = 1;
        private const int Cancelled = 2;

        private readonly ChangeTokenSubscription? _owner;
        private int _state;
        private IDisposable? _handle;

        public Registration(ChangeTokenSubscription? owner)
        {
            _owner = owner;
            RegisteringThread = Environment.CurrentManagedThreadId;
        }

        /// <summary>Gets or sets the thread inside <c>RegisterChangeCallback</c> for this registration; 0 once it returned.</summary>
        public int RegisteringThread { get; set; }

        /// <summary>Gets a value indicating whether the callback ran inside <c>RegisterChangeCallback</c> (same thread).</summary>
        public bool FiredInline { get; private set; }

        public void OnFired()
        {
            if (Interlocked.CompareExchange(ref _state, Fired, Pending) != Pending)
            {
                return;
            }

            if (RegisteringThread == Environment.CurrentManagedThreadId)
            {
                FiredInline = true;
                return;
            }

            _owner!.OnFired();
        }

        public void SetHandle(IDisposable? handle)
        {
            Interlocked.Exchange(ref _handle, handle);
            if (Volatile.Read(ref _state) == Cancelled)
            {
                Interlocked.Exchange(ref _handle, null)?.Dispose();
            }
        }

        public void Cancel()
        {
            if (Interlocked.CompareExchange(ref _state, Cancelled, Pending) == Pending)
            {
                Interlocked.Exchange(ref _handle, null)?.Dispose();
            }
        }
    }
}
