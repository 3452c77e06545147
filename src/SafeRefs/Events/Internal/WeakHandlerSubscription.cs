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
    internal WeakHandlerSubscription(WeakHandlerList list, WeakHandlerEntry entry)
    {
        _list = list;
        Entry = entry;
    }

    /// <summary>Gets the entry, whose running invocations <c>DisposeAsync</c> waits for.</summary>
    internal WeakHandlerEntry Entry { get; }

    private protected override bool IsDisposed => Volatile.Read(ref _list) is null;

    /// <summary>
    /// Drops the list reference and detaches. The entry's close (one interlocked operation) picks the one caller that
    /// detaches, so the reference needs none of its own: a concurrent call that still read it finds the entry closed.
    /// </summary>
    private protected override void Detach()
    {
        if (Volatile.Read(ref _list) is { } list)
        {
            Volatile.Write(ref _list, null);
            list.Dispose(Entry);
        }
    }

    internal override bool IsCallingFromOwnCallback => AsyncInvocationFlow.IsInsideRunning(Entry);

    private protected override ValueTask WhenCallbacksIdleAsync() => Entry.WhenIdleAsync();
}
