using System.Runtime;
using System.Runtime.InteropServices;

namespace SafeRefs.Internal;

/// <summary>
/// Owns the GC handles of up to <see cref="Capacity"/> weak-event entries and frees them in its finalizer, once no
/// entry references the block any more. One finalizable object per block instead of one per entry keeps
/// subscribing cheap (a finalizable allocation is slow and survives a collection).
/// </summary>
/// <remarks>
/// Handles are freed only when every entry that uses them is unreachable, so a raise iterating an old snapshot can
/// never read a freed (and possibly reused) handle. The finalizer frees this block's own handles and touches no other
/// object. Blocks are shared by all events; slots are claimed lock-free.
/// </remarks>
internal sealed class GcHandleBlock
{
    /// <summary>Entries per block.</summary>
    internal const int Capacity = 64;

    private static GcHandleBlock _current = new();

    private readonly WeakGCHandle<object>[] _weak = new WeakGCHandle<object>[Capacity];
    private readonly DependentHandle[] _dependent = new DependentHandle[Capacity];
    private int _next = -1;

    ~GcHandleBlock()
    {
        for (var i = 0; i < Capacity; i++)
        {
            _weak[i].Dispose();
            _dependent[i].Dispose();
        }
    }

    /// <summary>Claims a slot in the block currently being filled.</summary>
    /// <param name="slot">The claimed slot.</param>
    /// <returns>The block that owns the slot; the entry must keep a reference to it.</returns>
    internal static GcHandleBlock Claim(out int slot)
    {
        while (true)
        {
            var block = Volatile.Read(ref _current);
            var index = Interlocked.Increment(ref block._next);
            if (index < Capacity)
            {
                slot = index;
                return block;
            }

            Interlocked.CompareExchange(ref _current, new GcHandleBlock(), block);
        }
    }

    /// <summary>Allocates a weak handle owned by this block in <paramref name="slot"/>.</summary>
    internal WeakGCHandle<object> AllocWeak(int slot, object target)
    {
        _weak[slot] = new WeakGCHandle<object>(target);
        return _weak[slot];
    }

    /// <summary>Allocates a dependent handle owned by this block in <paramref name="slot"/>.</summary>
    internal DependentHandle AllocDependent(int slot, object target, object dependent)
    {
        _dependent[slot] = new DependentHandle(target, dependent);
        return _dependent[slot];
    }
}
