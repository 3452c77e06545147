using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace SafeRefs.Internal;

/// <summary>
/// A reusable registry slot of <see cref="WeakEventLinkRegistry"/>: the link registered in it and two weak GC handles
/// (owner, source) that are allocated once and retargeted by each link that claims the slot, so that a weak
/// subscription neither allocates nor frees a GC handle.
/// </summary>
/// <remarks>
/// A slot is claimed by one link at a time and returned as soon as that link has been detached, possibly while a raise
/// or purge still reads that link: its <see cref="Generation"/> moves on when it is returned, before any later link
/// retargets the handles, so such a reader sees that what it read may be another link's and drops it (see
/// <see cref="WeakEventLink"/>). The handles are never freed, so reading them is always safe. A free slot's handles
/// still point at their last targets, weakly: they keep nothing alive.
/// </remarks>
internal sealed class LinkSlot
{
    private WeakGCHandle<object> _owner;
    private WeakGCHandle<object> _source;
    private WeakEventLink? _link;
    private long _generation;

    /// <summary>Initializes a new instance of the <see cref="LinkSlot"/> class.</summary>
    internal LinkSlot(int index)
    {
        Index = index;
    }

    /// <summary>Gets the slot's generation: it changes each time the slot is returned, before it can be claimed again.</summary>
    internal long Generation => Volatile.Read(ref _generation);

    /// <summary>Gets the slot's index in the registry.</summary>
    internal int Index { get; }

    /// <summary>Gets or sets the next free slot's index (free list); meaningful only while the slot is free.</summary>
    internal int NextFree { get; set; } = -1;

    /// <summary>Gets the registered link, or <see langword="null"/> when none (free, or its link left the registry).</summary>
    internal WeakEventLink? Link => Volatile.Read(ref _link);

    /// <summary>Gets the weak handle to the owner (allocated while the slot is claimed).</summary>
    internal WeakGCHandle<object> Owner => _owner;

    /// <summary>Gets the weak handle to the source (allocated while the slot is claimed).</summary>
    internal WeakGCHandle<object> Source => _source;

    /// <summary>Points the slot's handles at a new link's owner and source (allocating them on first use).</summary>
    internal void Retarget(object owner, object source)
    {
        if (_owner.IsAllocated)
        {
            // A handle read is a memory load; retargeting is a runtime call. Re-subscribing the same owner or source
            // (the free list is last-in-first-out) finds the handle already pointing at it.
            if (!_owner.TryGetTarget(out var current) || !ReferenceEquals(current, owner))
            {
                _owner.SetTarget(owner);
            }

            if (!_source.TryGetTarget(out current) || !ReferenceEquals(current, source))
            {
                _source.SetTarget(source);
            }
        }
        else
        {
            _owner = new WeakGCHandle<object>(owner);
            _source = new WeakGCHandle<object>(source);
        }
    }

    /// <summary>Moves the generation on; called once per return, by the thread that returns the slot, before the slot is handed out.</summary>
    internal void NextGeneration()
    {
        Volatile.Write(ref _generation, _generation + 1);
        if (!X86Base.IsSupported)
        {
            // The next link's retargeting stores must not become visible before the new generation on weakly ordered
            // processors (x86 keeps stores in order).
            Interlocked.MemoryBarrier();
        }
    }

    /// <summary>Registers <paramref name="link"/> (purges can see it from now on).</summary>
    internal void Register(WeakEventLink link) => Volatile.Write(ref _link, link);

    /// <summary>Takes the link off the registry (purges no longer see it).</summary>
    internal void Unregister() => Volatile.Write(ref _link, null);
}
