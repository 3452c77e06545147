using System.Diagnostics;
using System.Runtime;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SafeRefs.Internal;

/// <summary>
/// The library's one weak-link mechanism: the GC handles of one weak subscription, allocated for it alone, never
/// reused, freed exactly once. Used by the weak links (<c>Subscribe.WeakEvent</c>, <c>WeakSubscriptions</c>) and by
/// the <c>Subscribe</c> handlers of the weak events. A handler that can capture lives exactly as long as the owner (a
/// <see cref="DependentHandle"/> owner → handler); one that cannot (a static method, a non-capturing lambda: rooted
/// anyway) is held strongly beside a weak handle to the owner, which a raise reads more cheaply than the dependent
/// handle. An optional weak handle holds one more object (a link's source).
/// </summary>
/// <remarks>
/// The core does not know who may read it: its holder keeps readers and the freer apart (a weak link's
/// <see cref="InvocationGate"/>, a weak event's raise slots and list lock). A read after the free throws (the handles
/// check that they are allocated). A mutable struct: keep it in a field and call it on that field, never on a copy.
/// </remarks>
internal struct WeakLinkCore
{
    private Delegate? _rootedHandler; // a handler that cannot capture; then _owner holds the owner
    private DependentHandle _ownerToHandler; // otherwise
    private WeakGCHandle<object> _owner;
    private WeakGCHandle<object> _weak;

    /// <summary>Gets a value indicating whether the handles were freed, or never allocated (tests).</summary>
    internal readonly bool IsFreed => !_ownerToHandler.IsAllocated && !_owner.IsAllocated;

    /// <summary>Gets the owner, or <see langword="null"/> once collected.</summary>
    internal readonly object? Owner => _rootedHandler is null ? _ownerToHandler.Target : _owner.TryGetTarget(out var owner) ? owner : null;

    /// <summary>Gets the object of the weak handle, or <see langword="null"/> (none, or collected).</summary>
    internal readonly object? Weak => _weak.IsAllocated && _weak.TryGetTarget(out var target) ? target : null;

    /// <summary>
    /// Initializes a core that is still <see langword="default"/>, in place (assigning a new core to a field copies it
    /// through the GC's write barriers, a measurable part of a weak subscription).
    /// </summary>
    /// <param name="owner">Held weakly; keeps <paramref name="handler"/> alive.</param>
    /// <param name="handler">Lives exactly as long as <paramref name="owner"/>, or for ever if it cannot capture.</param>
    /// <param name="weak">One more object held weakly, or <see langword="null"/>.</param>
    internal void Initialize(object owner, Delegate handler, object? weak)
    {
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

    /// <summary>Reads the owner and the handler; <see langword="false"/> when the owner was collected.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal readonly bool TryRead(out object owner, out Delegate handler)
    {
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

    /// <summary>Frees the handles, once; the holder guarantees that nobody reads them any more.</summary>
    internal void FreeUngated()
    {
        Debug.Assert(!IsFreed, "a weak link's handles are freed exactly once");
        _ownerToHandler.Dispose();
        _owner.Dispose();
        _weak.Dispose();
    }
}
