using System.Collections.Specialized;
using System.ComponentModel;
using System.Diagnostics;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Windows.Input;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.WeakLinks;

/// <summary>
/// One weak subscription to another object's event (<c>Subscribe.WeakEvent</c>, <c>WeakSubscriptions</c>), which is
/// also its token: the source holds the link's forwarding delegate; the link holds the source weakly and the handler
/// exactly as long as the owner; <see cref="WeakLinkRegistry"/> holds the link until it is detached.
/// </summary>
/// <remarks>
/// <para><b>Handles.</b> The link owns two GC handles: a <see cref="DependentHandle"/> owner → handler and a weak
/// handle to the source. They are allocated for this link only and freed exactly once, by whoever detaches it.</para>
/// <para><b>Gate.</b> An <see cref="InvocationGate"/>: a raise or a purge reads the handles only between its
/// <c>TryEnter</c> and its <c>BeginRun</c>/<c>Exit</c>. Detaching closes the gate, which waits for those few
/// instructions (never for a running handler): after that nobody reads the handles and no invocation starts, so the
/// winner frees them. No lock is held while user code runs.</para>
/// <para><b>Detaching</b> is claimed by the first caller that sets the bit: an explicit <c>Dispose</c> (whose
/// <c>remove</c> exception is rethrown to it), a raise that finds the owner collected, or a purge that finds the owner
/// or the source collected (their <c>remove</c> exceptions are logged and counted). The winner removes the forwarder
/// from the source if it is alive, then frees the handles and leaves the registry, even if <c>remove</c> threw.
/// A thread-affine source is never detached from the thread pool (see <see cref="IEventSourceAffinity"/>).</para>
/// </remarks>
internal abstract class WeakLink : Subscription
{
    private readonly int _threadId;
    private readonly SynchronizationContext? _context;
    private readonly string? _eventName;
    private DependentHandle _ownerToHandler;
    private WeakGCHandle<object> _source;
    private InvocationGate _gate;
    private int _posted;
    private bool _freed;

    /// <summary>Initializes a new instance of the <see cref="WeakLink"/> class (its own token).</summary>
    /// <param name="source">The event source; held weakly.</param>
    /// <param name="owner">The owner; held weakly.</param>
    /// <param name="handler">The owner-bound handler; lives exactly as long as the owner.</param>
    /// <param name="eventName">The event's name or <c>add</c> expression, for logs.</param>
    protected WeakLink(object source, object owner, Delegate handler, string? eventName)
        : base(LinkDetacher.Instance, null, null)
    {
        IsThreadAffine = source is IEventSourceAffinity affinity
            ? affinity.IsThreadAffine
            : source is INotifyPropertyChanged or INotifyCollectionChanged or ICommand;
        if (IsThreadAffine)
        {
            _threadId = Environment.CurrentManagedThreadId;
            _context = SynchronizationContext.Current;
        }

        _eventName = eventName;
        _ownerToHandler = new DependentHandle(owner, handler);
        _source = new WeakGCHandle<object>(source);
    }

    /// <summary>Gets or sets the link's index in the registry (-1 when not registered); written under the registry's lock.</summary>
    internal int RegistryIndex { get; set; } = -1;

    /// <summary>
    /// Gets a value indicating whether the active-subscriptions metric counts links of this kind (those of
    /// <c>Subscribe.WeakEvent</c>, not those of <c>WeakSubscriptions</c>).
    /// </summary>
    protected virtual bool IsCounted => false;

    /// <summary>Gets a value indicating whether the source's <c>remove</c> must run on the subscribing thread.</summary>
    internal bool IsThreadAffine { get; }

    /// <summary>Gets a value indicating whether the link is detached (claimed by a dispose, raise or purge).</summary>
    internal bool IsDetached => _gate.IsClosed;

    /// <summary>Gets the number of invocations of the handler in progress (tests).</summary>
    internal long RunningCount => _gate.RunningCount;

    /// <summary>Gets a value indicating whether the link's handles are freed (tests).</summary>
    internal bool IsFreed => Volatile.Read(ref _freed);

    private string EventName => EventNames.Normalize(_eventName);

    /// <summary>Attaches the link's forwarder, registers it, and returns it as the token.</summary>
    /// <exception cref="Exception">Whatever the <c>add</c> accessor throws; then nothing stays registered.</exception>
    internal static TLink Start<TLink>(TLink link, object source, object owner)
        where TLink : WeakLink
    {
        try
        {
            link.AddToSource(source);
        }
        catch
        {
            // Not registered yet: claim it (a forwarder the accessor published anyway finds it detached) and free.
            _ = link.Claim();
            link.Free();
            throw;
        }

        if (link.IsCounted)
        {
            Metrics.SubscriptionInstruments.Attached();
        }

        WeakLinkRegistry.Register(link);

        // Until it is registered, nothing may find the owner collected and detach it.
        GC.KeepAlive(owner);
        return link;
    }

    /// <summary>
    /// For a purge: detaches the link if its owner or source was collected, unless its source is thread-affine and
    /// this is not its thread. Never throws for a failed <c>remove</c> (logged and counted).
    /// </summary>
    /// <param name="onOwnThread">The purge runs on a thread where the source's <c>remove</c> may be called.</param>
    /// <returns><see langword="true"/> when this call detached the link.</returns>
    internal bool TryPurge(bool onOwnThread)
    {
        if (!TryEnter())
        {
            return false;
        }

        var ownerAlive = _ownerToHandler.Target is not null;
        var sourceAlive = _source.TryGetTarget(out var source);
        Exit();
        if (ownerAlive && sourceAlive)
        {
            return false;
        }

        if (sourceAlive && IsThreadAffine && !(onOwnThread && Environment.CurrentManagedThreadId == _threadId))
        {
            PostPurge(source!);
            return false;
        }

        if (!Claim())
        {
            return false;
        }

        DetachClaimed(source, rethrow: false, "purge");
        return true;
    }

    /// <summary>Completes when the link is detached and no invocation of its handler is running.</summary>
    internal ValueTask WhenIdleAsync() => _gate.WhenIdleAsync();

    /// <summary>Adds the forwarder to the source's event.</summary>
    protected abstract void AddToSource(object source);

    /// <summary>Removes the forwarder from the source's event.</summary>
    protected abstract void RemoveFromSource(object source);

    /// <summary>
    /// Starts a raise: reads the owner and the handler if the link is attached and the owner alive. On
    /// <see langword="true"/> the caller invokes the handler, then calls <see cref="EndInvoke"/>.
    /// </summary>
    protected bool TryBeginInvoke(out object owner, out Delegate handler)
    {
        if (TryEnter())
        {
            Debug.Assert(!_freed, "a link's handles are read only while it is attached");
            var (target, dependent) = _ownerToHandler.TargetAndDependent;
            if (target is not null)
            {
                // From "starting" to "running": Dispose no longer waits for this invocation, and it starts now.
                _gate.BeginRun();
                owner = target;
                handler = (Delegate)dependent!;
                return true;
            }

            Exit();
            DetachFromRaise();
        }

        owner = null!;
        handler = null!;
        return false;
    }

    /// <summary>Ends an invocation started by <see cref="TryBeginInvoke"/>.</summary>
    protected void EndInvoke() => _gate.EndRun();

    /// <summary>A raise found the owner collected: the raise runs on the source's thread, so it may detach.</summary>
    private void DetachFromRaise()
    {
        if (Claim())
        {
            _ = _source.TryGetTarget(out var source);
            DetachClaimed(source, rethrow: false, "raise");
        }
    }

    /// <summary>
    /// The token's <c>Dispose</c>: the gate is the claim, shared with raises and purges, so the token's detacher is only
    /// marked spent (<see cref="Subscription.IsActive"/> reads "not yet disposed", also after an automatic detach).
    /// </summary>
    private protected sealed override bool TryDetach(out Detacher? detacher)
    {
        detacher = MarkDetached();
        if (!Claim())
        {
            return false;
        }

        _ = _source.TryGetTarget(out var source);
        DetachClaimed(source, rethrow: true, "dispose");
        return true;
    }

    /// <summary>For the winner of <see cref="Claim"/>: off the source, handles freed, off the registry.</summary>
    private void DetachClaimed(object? source, bool rethrow, string trigger)
    {
        try
        {
            if (source is not null)
            {
                RemoveFromSource(source);
            }
        }
        catch (Exception ex) when (!rethrow)
        {
            // Only a remove on a live source throws: the source's type is read here rather than kept per link.
            Metrics.BackgroundFailures.ReportDetachFailed(ex, source?.GetType() ?? typeof(object), EventName, trigger);
        }
        finally
        {
            Free();
            WeakLinkRegistry.Unregister(this);
            if (IsCounted)
            {
                Metrics.SubscriptionInstruments.Detached();
            }
        }
    }

    /// <summary>
    /// Marks the link detached and waits for the callers reading its handles (never for a running handler).
    /// </summary>
    /// <returns><see langword="true"/> for the one call that detached it.</returns>
    private bool Claim() => _gate.Close();

    /// <summary>Frees the handles; called once, by the winner of <see cref="Claim"/>, after the readers drained.</summary>
    private void Free()
    {
        Volatile.Write(ref _freed, true);
        _ownerToHandler.Dispose();
        _source.Dispose();
    }

    private bool TryEnter() => _gate.TryEnter();

    private void Exit() => _gate.Exit();

    /// <summary>A thread-affine link found dead off its thread: detach it through its context, once, if it has one.</summary>
    private void PostPurge(object source)
    {
        if (_context is null || Interlocked.Exchange(ref _posted, 1) != 0)
        {
            return;
        }

        try
        {
            _context.Post(static state => ((WeakLink)state!).PurgeOnOwnThread(), this);
        }
#pragma warning disable CA1031 // A context that refuses the post (shut down) is reported; the next raise detaches.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Metrics.BackgroundFailures.ReportDetachFailed(ex, source.GetType(), EventName, "post to the subscribing context");
        }
    }

    private void PurgeOnOwnThread()
    {
        if (!TryEnter())
        {
            return;
        }

        var dead = _ownerToHandler.Target is null || !_source.TryGetTarget(out _);
        Exit();
        if (dead && Claim())
        {
            _ = _source.TryGetTarget(out var source);
            DetachClaimed(source, rethrow: false, "purge on the subscribing context");
        }
    }

    /// <summary>The detacher of every link token: the token's first slot is the link itself.</summary>
    private sealed class LinkDetacher : Detacher
    {
        public static readonly LinkDetacher Instance = new();

        // Never called: the link's own TryDetach detaches.
        public override void Detach(object? slot0, object? slot1, object? slot2) => throw new UnreachableException();

        public override ValueTask WhenCallbacksIdleAsync(object? slot0, object? slot1, object? slot2) => ((WeakLink)slot0!).WhenIdleAsync();
    }
}
