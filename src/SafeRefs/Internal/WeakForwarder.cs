using System.Runtime.CompilerServices;

namespace SafeRefs.Internal;

/// <summary>
/// A listener attached to a BCL event on behalf of an owner: the source holds it strongly; it holds the source weakly
/// and the owner/handler through a <see cref="WeakHandlerEntry"/>.
/// </summary>
internal abstract class WeakForwarder
{
    private int _detached;

    protected WeakForwarder(WeakHandlerEntry entry)
    {
        Entry = entry;
    }

    /// <summary>Gets the owner-bound entry.</summary>
    internal WeakHandlerEntry Entry { get; }

    /// <summary>Gets a value indicating whether the forwarder is detached from its source.</summary>
    internal bool IsDetached => Volatile.Read(ref _detached) != 0;

    /// <summary>Gets a value indicating whether the source is still alive (a forwarder of a collected source is dropped).</summary>
    internal abstract bool IsSourceAlive { get; }

    /// <summary>Attaches to the source's event.</summary>
    internal abstract void Attach();

    /// <summary>Marks the entry removed and detaches from the source if it is still alive; idempotent.</summary>
    internal void Detach()
    {
        Entry.MarkRemoved();
        if (Interlocked.Exchange(ref _detached, 1) == 0)
        {
            DetachFromSource();
        }
    }

    /// <summary>Removes this forwarder's handler from the source's event, if the source is still alive.</summary>
    protected abstract void DetachFromSource();

    /// <summary>Invokes the owner-bound handler, or detaches if the owner is gone.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void Forward<TArgs>(object? sender, TArgs args)
    {
        if (Entry.TryGet(out var owner, out var handler))
        {
            Unsafe.As<Action<object, object?, TArgs>>(handler)(owner!, sender, args);
        }
        else
        {
            Detach();
        }
    }
}
