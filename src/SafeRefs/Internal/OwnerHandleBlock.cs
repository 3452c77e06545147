using System.Runtime.InteropServices;

namespace SafeRefs.Internal;

/// <summary>
/// Owns the weak GC handles of up to <see cref="Capacity"/> timer owners. A timer releases its handle when it ends
/// (<see cref="Release"/> clears the target and marks the slot free); the thread that fills the block reuses the
/// released slots, handles included, once at least a quarter of the block came free, so steady create/dispose churn
/// allocates neither handles nor blocks. The finalizer frees the handles once no <see cref="OwnerCallback"/> and no thread references the block —
/// including the handles of timers abandoned without ending (a paused timer of a scope dropped undisposed).
/// </summary>
/// <remarks>
/// One finalizable object per block instead of a finalizable <see cref="WeakReference{T}"/> per timer. Only the
/// thread whose current block this is claims slots (no atomic operation); any thread releases. A released slot is
/// never read again by the callback that held it. The finalizer frees this block's own handles and touches no other
/// object. Users call <see cref="GC.KeepAlive"/> on the block after each handle access, so the finalizer never
/// runs while a handle is in use.
/// </remarks>
internal sealed class OwnerHandleBlock
{
    /// <summary>Handles per block.</summary>
    internal const int Capacity = 64;

    [ThreadStatic]
    private static OwnerHandleBlock? _current;

    private static long _recycled;

    private readonly Slot[] _slots = new Slot[Capacity];
    private int _next; // claimed only by the thread whose current block this is

    ~OwnerHandleBlock()
    {
        for (var i = 0; i < Capacity; i++)
        {
            _slots[i].Handle.Dispose();
        }
    }

    /// <summary>Points a weak handle of the calling thread's current block at <paramref name="target"/>.</summary>
    /// <param name="target">The object to reference weakly.</param>
    /// <param name="slot">The handle's slot in the returned block.</param>
    /// <returns>The block that owns the handle; the caller keeps a reference to it until it releases the slot.</returns>
    internal static OwnerHandleBlock Claim(object target, out int slot)
    {
        var block = _current;
        if (block is null || !block.TryClaim(out slot))
        {
            block = new OwnerHandleBlock();
            _current = block;
            block.TryClaim(out slot);
        }

        ref var entry = ref block._slots[slot];
        if (entry.Handle.IsAllocated)
        {
            entry.Released = false;
            entry.Handle.SetTarget(target);
        }
        else
        {
            entry.Handle = new WeakGCHandle<object>(target);
        }

        return block;
    }

    /// <summary>Reads the target of the handle in <paramref name="slot"/>; the slot must not have been released.</summary>
    internal bool TryGetTarget(int slot, out object? target)
    {
        var alive = _slots[slot].Handle.TryGetTarget(out target);
        GC.KeepAlive(this);
        return alive;
    }

    /// <summary>Clears the handle in <paramref name="slot"/> and frees the slot for reuse; called exactly once, when no
    /// reader can still use it.</summary>
    internal void Release(int slot)
    {
        ref var entry = ref _slots[slot];
        entry.Handle.SetTarget(null!);
        Volatile.Write(ref entry.Released, true);
        GC.KeepAlive(this);
    }

    /// <summary>Gets how many times a full block started over on its released slots (for tests).</summary>
    internal static long Recycled => Interlocked.Read(ref _recycled);

    /// <summary>Gets the calling thread's current block (for tests).</summary>
    internal static OwnerHandleBlock? CurrentForThread => _current;

    /// <summary>Gets how many slots hold a handle, in use or released (for tests).</summary>
    internal int Claimed
    {
        get
        {
            var count = 0;
            for (var i = 0; i < Capacity; i++)
            {
                if (_slots[i].Handle.IsAllocated)
                {
                    count++;
                }
            }

            return count;
        }
    }

    /// <summary>Counts the released slots (for tests).</summary>
    internal int CountReleased()
    {
        var count = 0;
        for (var i = 0; i < Capacity; i++)
        {
            if (Volatile.Read(ref _slots[i].Released))
            {
                count++;
            }
        }

        return count;
    }

    // On the claiming thread: the next slot that was never used or was released. At the end of the block, start over
    // if at least a quarter of the slots came free (so a scan costs O(1) per claim amortised), else give up.
    private bool TryClaim(out int slot)
    {
        while (true)
        {
            for (var i = _next; i < Capacity; i++)
            {
                ref var entry = ref _slots[i];
                if (!entry.Handle.IsAllocated || Volatile.Read(ref entry.Released))
                {
                    _next = i + 1;
                    slot = i;
                    return true;
                }
            }

            var free = 0;
            for (var i = 0; i < Capacity; i++)
            {
                if (Volatile.Read(ref _slots[i].Released))
                {
                    free++;
                }
            }

            if (free < Capacity / 4)
            {
                slot = -1;
                return false;
            }

            _next = 0;
            Interlocked.Increment(ref _recycled);
        }
    }

    private struct Slot
    {
#pragma warning disable IDE1006 // public fields of a private struct, used by ref
        public WeakGCHandle<object> Handle;
        public bool Released;
#pragma warning restore IDE1006
    }
}
