using System.Diagnostics;
using System.Runtime;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SafeRefs.Internal;

/// <summary>
/// The library's one weak-link mechanism: the GC handles of one weak subscription and the rule that frees them, for
/// every weak link (<c>Subscribe.WeakEvent</c>, <c>WeakSubscriptions</c>) and every handler of the weak events. A
/// handler that can capture lives exactly as long as the owner (a <see cref="DependentHandle"/> owner → handler); one
/// that cannot (a static method or non-capturing lambda, rooted anyway) is held strongly beside a weak handle to the
/// owner, which a raise reads with a plain load instead of the dependent handle's runtime call. An optional weak handle
/// holds one more object (a link's source, an <c>Add</c> handler's delegate). The handles are allocated for this
/// subscription alone, never reused, and freed exactly once.
/// </summary>
/// <remarks>
/// <para><b>Gated</b> (the weak links of <c>Subscribe.WeakEvent</c> and <c>WeakSubscriptions</c>): the handles are
/// read only by a caller admitted through the <see cref="InvocationGate"/>: a reader (<see cref="TryEnter"/>) or an invocation (<see cref="TryBeginInvoke"/>),
/// each leaving with <see cref="Exit"/>. Whoever detaches the subscription (a token's <c>Dispose</c>, a raise or a
/// purge that finds the owner collected) claims it with <see cref="TryClaim"/>: exactly one caller wins, may read the
/// handles, and ends with <see cref="Release"/>. Nobody is admitted after the claim, and the last one out frees the
/// handles: the claimer, unless an invocation admitted before the claim is still running; its end frees them.</para>
/// <para><b>Ungated</b>, the weak events' handlers: an <c>Add</c> handler's core only keeps the delegate alive with its
/// target and is never read (raises read the delegate through a <see cref="WeakReference{T}"/> of their own); a
/// <c>Subscribe</c> handler's core is read by raises (<see cref="TryRead"/>) that announce themselves in the list's
/// raise slots, which its disposer waits out. The handler list frees both with <see cref="FreeUngated"/>.</para>
/// <para>Debug builds assert on every read that the handles were not freed. A mutable struct: keep it in a field and
/// call it on that field, never on a copy.</para>
/// </remarks>
internal struct WeakLinkCore
{
    private Delegate? _rootedHandler; // a handler that cannot capture; then _owner holds the owner
    private DependentHandle _ownerToHandler; // otherwise
    private WeakGCHandle<object> _owner;
    private WeakGCHandle<object> _weak;
    private InvocationGate _gate;
    private bool _freed;

    /// <summary>Initializes a new instance of the <see cref="WeakLinkCore"/> struct.</summary>
    /// <param name="owner">Held weakly; keeps <paramref name="handler"/> alive.</param>
    /// <param name="handler">Lives exactly as long as <paramref name="owner"/>, or for ever if it cannot capture.</param>
    /// <param name="weak">One more object held weakly, or <see langword="null"/>.</param>
    internal WeakLinkCore(object owner, Delegate handler, object? weak) => Initialize(owner, handler, weak);

    /// <summary>
    /// Initializes a core that is still <see langword="default"/>, in place: assigning a new core to a holder's field
    /// copies the struct into the object through the GC's copy barriers, a measurable part of a weak subscription.
    /// </summary>
    /// <param name="owner">Held weakly; keeps <paramref name="handler"/> alive.</param>
    /// <param name="handler">Lives exactly as long as <paramref name="owner"/>, or for ever if it cannot capture.</param>
    /// <param name="weak">One more object held weakly, or <see langword="null"/>.</param>
    internal void Initialize(object owner, Delegate handler, object? weak)
    {
        Debug.Assert(_rootedHandler is null && !_ownerToHandler.IsAllocated && !_owner.IsAllocated && !_weak.IsAllocated, "a core is initialized once");
        if (HandlerTargets.CanCapture(handler))
        {
            _ownerToHandler = new DependentHandle(owner, handler);
        }
        else
        {
            _rootedHandler = handler;
            _owner = new WeakGCHandle<object>(owner);
        }

        if (weak is not null)
        {
            _weak = new WeakGCHandle<object>(weak);
        }
    }

    /// <summary>Gets a value indicating whether the subscription was claimed (gate closed).</summary>
    internal readonly bool IsClosed => _gate.IsClosed;

    /// <summary>Gets the number of admitted callers: invocations in progress and readers.</summary>
    internal readonly long AdmittedCount => _gate.Count;

    /// <summary>Gets a value indicating whether the handles were freed (tests, debug checks).</summary>
    internal readonly bool IsFreed => Volatile.Read(in _freed);

    /// <summary>Gets the owner, or <see langword="null"/> once collected; for an admitted caller (or under the ungated rule).</summary>
    internal readonly object? Owner
    {
        get
        {
            AssertNotFreed();
            return _rootedHandler is null ? _ownerToHandler.Target : _owner.TryGetTarget(out var owner) ? owner : null;
        }
    }

    /// <summary>Gets the object of the weak handle, or <see langword="null"/>; same rule as <see cref="Owner"/>.</summary>
    internal readonly object? Weak
    {
        get
        {
            AssertNotFreed();
            return _weak.IsAllocated && _weak.TryGetTarget(out var target) ? target : null;
        }
    }

    /// <summary>Admits the caller to read the handles; <see langword="false"/> once claimed. Pair with <see cref="Exit"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryEnter() => _gate.TryEnter();

    /// <summary>An admitted caller leaves; the last one out after the claim frees the handles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Exit()
    {
        if (_gate.Exit())
        {
            Free();
        }
    }

    /// <summary>
    /// Admits an invocation and reads the owner and the handler; on <see langword="true"/> the caller invokes, then
    /// calls <see cref="Exit"/>. <see langword="false"/> (not admitted) when claimed or when the owner was collected.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryBeginInvoke(out object owner, out Delegate handler)
    {
        if (_gate.TryEnter())
        {
            if (TryRead(out owner, out handler))
            {
                return true;
            }

            Exit();
        }

        owner = null!;
        handler = null!;
        return false;
    }

    /// <summary>
    /// Reads the owner and the handler; <see langword="false"/> when the owner was collected. For an admitted caller, or
    /// for a core whose readers and freer are kept apart by its holder (the weak events' <c>Subscribe</c> entries).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal readonly bool TryRead(out object owner, out Delegate handler)
    {
        AssertNotFreed();
        if (_rootedHandler is not null)
        {
            if (_owner.TryGetTarget(out var weakOwner))
            {
                owner = weakOwner;
                handler = _rootedHandler;
                return true;
            }
        }
        else
        {
            var (target, dependent) = _ownerToHandler.TargetAndDependent;
            if (target is not null)
            {
                owner = target;
                handler = Unsafe.As<Delegate>(dependent!);
                return true;
            }
        }

        owner = null!;
        handler = null!;
        return false;
    }

    /// <summary>
    /// Claims the subscription for a claimer that then reads the handles, in one compare-and-swap; on
    /// <see langword="true"/> it must call <see cref="Release"/> with <paramref name="admitted"/> when done.
    /// </summary>
    /// <param name="admitted">Whether the claimer was admitted (others were admitted at the claim).</param>
    /// <returns><see langword="true"/> for the one caller that claimed it.</returns>
    internal bool TryClaim(out bool admitted) => _gate.CloseToRead(out admitted);

    /// <summary>
    /// The claimer of <see cref="TryClaim"/> is done reading: if it was admitted it leaves (the last one out frees);
    /// otherwise nobody was admitted at the claim and nobody can be since, so it frees.
    /// </summary>
    internal void Release(bool admitted)
    {
        if (admitted)
        {
            Exit();
        }
        else
        {
            Free();
        }
    }

    /// <summary>Claims the subscription for a claimer that reads nothing (<see cref="TryClaim"/>, then <see cref="Release"/>).</summary>
    /// <returns><see langword="true"/> for the one caller that claimed it.</returns>
    internal bool Claim()
    {
        if (!TryClaim(out var admitted))
        {
            return false;
        }

        Release(admitted);
        return true;
    }

    /// <summary>Completes when the subscription is claimed and no admitted caller is left.</summary>
    internal ValueTask WhenIdleAsync() => _gate.WhenIdleAsync();

    /// <summary>
    /// Frees the handles of a core whose gate is not used: one nobody reads (an <c>Add</c> handler's), or one whose
    /// holder keeps its readers and its freer apart (a weak event's <c>Subscribe</c> entry).
    /// </summary>
    internal void FreeUngated()
    {
        Debug.Assert(_gate.Count == 0 && !_gate.IsClosed, "a gated subscription is freed by its last admitted caller");
        Free();
    }

    private void Free()
    {
        Debug.Assert(!_freed, "a weak link's handles are freed exactly once");
        Volatile.Write(ref _freed, true);
        if (_rootedHandler is null)
        {
            _ownerToHandler.Dispose();
        }
        else
        {
            _owner.Dispose();
        }

        if (_weak.IsAllocated)
        {
            _weak.Dispose();
        }
    }

    [Conditional("DEBUG")]
    private readonly void AssertNotFreed() => Debug.Assert(!_freed, "a freed weak link's handles were read");
}
