using System.Diagnostics;
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
    internal WeakHandlerSubscription(WeakHandlerList list, WeakHandlerEntry entry)
        : base(EntryDetacher.Instance, entry, null) => _list = list;

    /// <summary>The first call takes the list reference and detaches; later calls find it gone.</summary>
    private protected override bool TryDetach(out Detacher? detacher)
    {
        detacher = MarkDetached();
        var list = Interlocked.Exchange(ref _list, null);
        if (list is null)
        {
            return false;
        }

        list.Dispose((WeakHandlerEntry)Arg1!);
        return true;
    }

    /// <summary>The detacher of these tokens: its second detach argument (arg1) is the entry, whose running invocations <c>DisposeAsync</c> waits for.</summary>
    private sealed class EntryDetacher : Detacher
    {
        public static readonly EntryDetacher Instance = new();

        // Never called: the token's own TryDetach detaches.
        public override void Detach(object? arg0, object? arg1, object? arg2) => throw new UnreachableException();

        public override ValueTask WhenCallbacksIdleAsync(object? arg0, object? arg1, object? arg2) => ((WeakHandlerEntry)arg1!).WhenIdleAsync();
    }
}
