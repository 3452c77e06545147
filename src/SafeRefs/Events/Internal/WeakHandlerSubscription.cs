using SafeRefs.Internal;
using SafeRefs.Subscriptions;

namespace SafeRefs.Events.Internal;

/// <summary>
/// The token of a weak event's <c>Subscribe</c>: its first <c>Dispose</c> claims the entry and takes it out of the
/// list. It holds the list until then and only the entry afterwards (its handles freed; <c>DisposeAsync</c> waits on
/// it), so a disposed token that is kept keeps neither the list nor the event alive.
/// </summary>
internal sealed class WeakHandlerSubscription : Subscription
{
    private WeakHandlerList? _list;

    /// <summary>Initializes a new instance of the <see cref="WeakHandlerSubscription"/> class.</summary>
    internal WeakHandlerSubscription(WeakHandlerList list, OwnerHandlerEntry entry)
    {
        _list = list;
        Entry = entry;
    }

    /// <summary>Gets the entry, whose running invocations <c>DisposeAsync</c> waits for.</summary>
    internal OwnerHandlerEntry Entry { get; }

    private protected override bool IsDisposed => Volatile.Read(ref _list) is null;

    /// <summary>
    /// Detaches, then drops the list reference. The entry's close (one interlocked operation) picks the one caller that
    /// detaches; a concurrent call that still reads the reference finds the entry closed and waits out the raises that
    /// checked it open. The reference is dropped only after the detach, so a call that finds it gone has nothing left
    /// to wait for: no invocation starts after any of the calls returns.
    /// </summary>
    private protected override void Detach()
    {
        if (Volatile.Read(ref _list) is { } list)
        {
            try
            {
                list.Dispose(Entry);
            }
            finally
            {
                Volatile.Write(ref _list, null);
            }
        }
    }

    internal override bool IsCallingFromOwnCallback => EnclosingCallbacks.IsInside(Entry);

    private protected override ValueTask WhenCallbacksIdleAsync() => Entry.WhenIdleAsync();
}
