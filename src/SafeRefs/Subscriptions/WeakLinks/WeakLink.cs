using System.Collections.Specialized;
using System.ComponentModel;
using System.Windows.Input;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.WeakLinks;

/// <summary>
/// One weak subscription to another object's event (<c>Subscribe.WeakEvent</c>, <c>WeakSubscriptions</c>), which is
/// also its token: the source holds the link's forwarding delegate; the link holds the source weakly and the handler
/// exactly as long as the owner; <see cref="Registry"/> holds the link until it is detached.
/// </summary>
/// <remarks>
/// <para><b>Handles and gate:</b> a <see cref="WeakLinkCore"/> (owner → handler, the source weakly) read only by callers
/// the link's <see cref="InvocationGate"/> admitted: a raise, a purge's check, the detacher. Closing the gate is the
/// claim of the detach; the last one out of the closed gate frees the handles, exactly once. No lock is held while user
/// code runs, and nothing waits.</para>
/// <para><b>Detaching</b> is one path, <see cref="TryClaimAndDetach"/>: the first caller to close the gate wins, be it
/// an explicit <c>Dispose</c>, a raise that finds the owner collected, or a purge that finds the owner or the source
/// collected. A <c>remove</c> exception is logged and counted in each case, then rethrown to an explicit <c>Dispose</c>.
/// The winner removes the forwarder from the source if it is alive and leaves the registry, even if <c>remove</c> threw.
/// A thread-affine source is never detached from the thread pool (see <see cref="IEventSourceAffinity"/>).</para>
/// </remarks>
internal abstract class WeakLink : Subscription, IPurgeable
{
    private readonly SubscribingThread? _subscribingThread; // only for a thread-affine source
    private readonly string? _eventName;
    private readonly bool _isCounted;
    private bool _disposed;
    private InvocationGate _gate;
    private WeakLinkCore _core;

    /// <summary>
    /// Initializes a new instance of the <see cref="WeakLink"/> class: <paramref name="source"/> and
    /// <paramref name="owner"/> held weakly, <paramref name="handler"/> exactly as long as the owner;
    /// <paramref name="isCounted"/> for the active-subscriptions metric (<c>Subscribe.WeakEvent</c>, not <c>WeakSubscriptions</c>).
    /// </summary>
    protected WeakLink(object source, object owner, Delegate handler, string? eventName, bool isCounted)
    {
        if (IsSourceThreadAffine(source))
        {
            _subscribingThread = new SubscribingThread();
        }

        _eventName = eventName;
        _isCounted = isCounted;
        _core.Initialize(owner, handler, source);
    }

#if DEBUG
    /// <summary>
    /// Test seam: called by a raise with <see langword="false"/> just before the gate decides whether the handler starts
    /// (after the source's raise read the forwarder: the window the closed gate guards), and with <see langword="true"/>
    /// once admitted, before the handler runs. Debug builds only: its static load per raise is part of the hot path.
    /// </summary>
    internal static Action<WeakLink, bool>? EnterHook { get; set; }
#endif

    /// <summary>Gets the number of attached links of <c>Subscribe.WeakEvent</c> (for the active-subscriptions metric).</summary>
    internal static int CountedLinks => Registry.CountedCount;

    /// <summary>
    /// Gets every attached link, so that links whose owner or source was collected are detached even if the event never
    /// fires (after each gen-2 collection, and on a subscribing thread every so many registrations).
    /// </summary>
    internal static PurgeRegistry Registry { get; } = new();

    /// <inheritdoc/>
    public int RegistryIndex { get; set; } = -1;

    /// <summary>Gets a value indicating whether the source's <c>remove</c> must run on the subscribing thread.</summary>
    internal bool IsThreadAffine => _subscribingThread is not null;

    /// <summary>Gets a value indicating whether the link is detached (claimed by a dispose, raise or purge).</summary>
    internal bool IsDetached => _gate.IsClosed;

    /// <summary>Gets the number of invocations of the handler in progress, and readers of the handles (tests).</summary>
    internal long RunningCount => _gate.Count;

    /// <summary>Gets a value indicating whether the link's handles are freed (tests).</summary>
    internal bool IsFreed => _core.IsFreed;

    private string EventName => EventNames.Normalize(_eventName);

    /// <summary>
    /// Whether a source's <c>remove</c> accessors must run on the subscribing thread: its own answer
    /// (<see cref="IEventSourceAffinity"/>), otherwise whether it is a UI-style source.
    /// </summary>
    internal static bool IsSourceThreadAffine(object source) => source is IEventSourceAffinity affinity
        ? affinity.IsThreadAffine
        : source is INotifyPropertyChanged or INotifyCollectionChanged or ICommand;

    /// <inheritdoc/>
    public bool TryPurge(bool onOwnThread) => TryDetachIfDead(onOwnThread && _subscribingThread?.IsCurrent == true, "purge");

    /// <inheritdoc/>
    public void ReportPurgeFailed(Exception exception) =>
        Metrics.BackgroundFailures.ReportDetachFailed(exception, GetType(), "(purge)", "purge");

    /// <summary>Registers a link whose forwarder was added to its source.</summary>
    protected void Register(object owner)
    {
        // The metric reads the registry's count; touching the instrument publishes it when weak links are all there is.
        if (_isCounted)
        {
            _ = Metrics.SubscriptionInstruments.Active;
        }

        Registry.Register(this, _isCounted);

        // Until it is registered, nothing may find the owner collected and detach it.
        GC.KeepAlive(owner);
    }

    /// <summary>The source's <c>add</c> threw: never registered; closed (a forwarder published anyway finds it detached) and freed.</summary>
    protected void Abandon()
    {
        if (_gate.CloseToRead(out var admitted))
        {
            Release(admitted);
        }
    }

    /// <summary>Removes the forwarder from the source's event.</summary>
    protected abstract void RemoveFromSource(object source);

    /// <summary>
    /// Starts a raise: on <see langword="true"/> (attached, owner alive) the caller invokes the handler, then calls
    /// <see cref="Leave"/>. Otherwise it detaches a link whose owner was collected: a raise runs on the source's thread.
    /// </summary>
    protected bool TryBeginInvoke(out object owner, out Delegate handler)
    {
#if DEBUG
        var hook = EnterHook;
        hook?.Invoke(this, false);
#endif
        if (_gate.TryEnter())
        {
            if (_core.TryRead(out owner, out handler))
            {
#if DEBUG
                hook?.Invoke(this, true);
#endif
                return true;
            }

            Leave();
        }

        _ = TryClaimAndDetach(rethrow: false, "raise");
        owner = null!;
        handler = null!;
        return false;
    }

    /// <summary>An admitted caller leaves: the last one out of the closed gate frees the handles.</summary>
    protected void Leave()
    {
        if (_gate.Exit())
        {
            _core.FreeUngated();
        }
    }

    /// <summary>Gets a value indicating whether the token was disposed (not only detached by a raise or a purge).</summary>
    private protected sealed override bool IsDisposed => Volatile.Read(ref _disposed);

    /// <summary>The token's <c>Dispose</c>: the core's claim is shared with raises and purges.</summary>
    private protected sealed override void Detach()
    {
        Volatile.Write(ref _disposed, true);
        _ = TryClaimAndDetach(rethrow: true, "dispose");
    }

    /// <summary>Completes when the link is detached and no invocation of its handler is running.</summary>
    private protected sealed override ValueTask WhenCallbacksIdleAsync() => _gate.WhenIdleAsync();

    /// <summary>
    /// Detaches the link if its owner or source was collected (death is final: checked before the claim), unless its live
    /// source is thread-affine and this is not its thread.
    /// </summary>
    private bool TryDetachIfDead(bool onSourceThread, string trigger)
    {
        if (!_gate.TryEnter())
        {
            return false;
        }

        var source = _core.Weak;
        var dead = source is null || _core.Owner is null;
        Leave();
        if (!dead)
        {
            return false;
        }

        if (source is not null && _subscribingThread is { } thread && !onSourceThread)
        {
            PostPurge(thread, source);
            return false;
        }

        return TryClaimAndDetach(rethrow: false, trigger);
    }

    /// <summary>
    /// Closes the gate; the one caller that closed it removes the forwarder from the source if it is alive, leaves the
    /// registry and releases the handles (freed now, or by the end of the invocation still running).
    /// </summary>
    /// <returns><see langword="true"/> for the caller that closed the gate.</returns>
    private bool TryClaimAndDetach(bool rethrow, string trigger)
    {
        if (!_gate.CloseToRead(out var admitted))
        {
            return false;
        }

        var source = _core.Weak;
        try
        {
            if (source is not null)
            {
                RemoveFromSource(source);
            }
        }
#pragma warning disable CA1031 // Reported always; rethrown to an explicit Dispose, which a raise or a purge must not be.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            // Only a remove on a live source throws: the source's type is read here rather than kept per link.
            Metrics.BackgroundFailures.ReportDetachFailed(ex, source!.GetType(), EventName, trigger, rethrow);
            if (rethrow)
            {
                throw;
            }
        }
        finally
        {
            Release(admitted);
            Registry.Unregister(this, _isCounted);
        }

        return true;
    }

    /// <summary>The closer is done reading: not admitted, it was alone and frees; admitted, it leaves like any caller.</summary>
    private void Release(bool admitted)
    {
        if (!admitted || _gate.Exit())
        {
            _core.FreeUngated();
        }
    }

    /// <summary>A thread-affine link found dead off its thread: detach it through its context, once, if it has one.</summary>
    private void PostPurge(SubscribingThread thread, object source)
    {
        if (thread.Context is not { } context || !thread.TryMarkPosted())
        {
            return;
        }

        try
        {
            context.Post(static state => ((WeakLink)state!).TryDetachIfDead(onSourceThread: true, "purge on the subscribing context"), this);
        }
#pragma warning disable CA1031 // A context that refuses the post (shut down) is reported; the next raise detaches.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Metrics.BackgroundFailures.ReportDetachFailed(ex, source.GetType(), EventName, "post to the subscribing context");
        }
    }
}
