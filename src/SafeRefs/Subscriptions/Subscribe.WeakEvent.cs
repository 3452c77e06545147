using System.Runtime.CompilerServices;
using SafeRefs.Internal;
using SafeRefs.Subscriptions.WeakLinks;

namespace SafeRefs.Subscriptions;

public static partial class Subscribe
{
    /// <summary>
    /// Attaches a weak handler to an <see cref="EventHandler{TEventArgs}"/> event: the source never keeps
    /// <paramref name="owner"/> alive, the handler receives the owner, and when the owner is collected the forwarder is
    /// detached from the source without the event having to fire.
    /// </summary>
    /// <typeparam name="TSource">The type of the object that declares the event.</typeparam>
    /// <typeparam name="TOwner">The type of the object whose lifetime bounds the subscription.</typeparam>
    /// <typeparam name="TArgs">The event arguments type.</typeparam>
    /// <param name="source">The object whose event is subscribed.</param>
    /// <param name="add">Adds a handler to the event: <c>static (s, h) =&gt; s.Changed += h</c>. Must not capture.</param>
    /// <param name="remove">Removes a handler from the event: <c>static (s, h) =&gt; s.Changed -= h</c>. Must not capture.</param>
    /// <param name="owner">The listener; held weakly.</param>
    /// <param name="handler">
    /// Called with the owner, the sender and the arguments. It is kept alive exactly as long as
    /// <paramref name="owner"/> (it may capture the owner without keeping it alive); prefer a static lambda.
    /// </param>
    /// <param name="eventName">The event's name for logs; by default the text of <paramref name="add"/>, reduced to the member name.</param>
    /// <returns>
    /// A token that detaches the forwarder when disposed; <see cref="Subscription.DisposeAsync"/> also waits for a
    /// running callback.
    /// </returns>
    /// <exception cref="ArgumentNullException">Any argument but <paramref name="eventName"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="add"/> or <paramref name="remove"/> captures variables or
    /// <see langword="this"/>: the subscription keeps <paramref name="remove"/> while it is attached, so a capture of the
    /// owner would keep the owner alive for ever. Use the source parameter in a static lambda.</exception>
    /// <remarks>
    /// <para>The source holds a small forwarder, not the owner. A forwarder whose owner or source was collected is
    /// detached when the event next fires, by a purge on the thread pool after gen-2 collections, or by a purge during
    /// a later weak subscription on the subscribing thread; no finalizer touches it. A source that is thread-affine
    /// (see <see cref="IEventSourceAffinity"/>) is never detached from the thread pool. A failure of
    /// <paramref name="remove"/> during such an automatic detach is logged through
    /// <see cref="Diagnostics.SafeRefsLog"/> and counted; the forwarder is dropped anyway.</para>
    /// <para>After <see cref="Subscription.Dispose"/> returns, no invocation of the handler starts, even with a raise
    /// running on another thread; <c>Dispose</c> never waits for an invocation already running. If
    /// <paramref name="remove"/> throws, <c>Dispose</c> throws it, and the subscription is detached all the same. Do
    /// not await <see cref="Subscription.DisposeAsync"/> from inside the handler itself: it completes only when the
    /// handler returns.</para>
    /// </remarks>
    public static Subscription WeakEvent<TSource, TOwner, TArgs>(
        TSource source,
        Action<TSource, EventHandler<TArgs>> add,
        Action<TSource, EventHandler<TArgs>> remove,
        TOwner owner,
        Action<TOwner, object?, TArgs> handler,
        [CallerArgumentExpression(nameof(add))] string? eventName = null)
        where TSource : class
        where TOwner : class
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(add);
        ArgumentNullException.ThrowIfNull(remove);
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(handler);
        ThrowIfCapturing(add, remove);

        return WeakLink<TSource, EventHandler<TArgs>, TArgs>.Start(
            source, add, remove, static link => link.Forward, owner, handler, eventName, isCounted: true);
    }

    /// <summary>
    /// Refuses capturing accessors. A static lambda's delegate is cached by the compiler, so a call site passes the same
    /// pair every time: the last pair found safe is remembered per event shape, and only a new pair is classified.
    /// </summary>
    private static void ThrowIfCapturing<TSource, TArgs>(Action<TSource, EventHandler<TArgs>> add, Action<TSource, EventHandler<TArgs>> remove)
    {
        if (SafeAccessors<TSource, TArgs>.IsLast(add, remove))
        {
            return;
        }

        ThrowIfCapturing(add, nameof(add), "+=");
        ThrowIfCapturing(remove, nameof(remove), "-=");

        // Only non-capturing lambdas (a target: the compiler's singleton) of an assembly that cannot unload are
        // remembered: the static reference must not keep a collectible assembly alive.
        if (add.Target is { } addTarget && !addTarget.GetType().IsCollectible
            && remove.Target is { } removeTarget && !removeTarget.GetType().IsCollectible)
        {
            SafeAccessors<TSource, TArgs>.Remember(add, remove);
        }
    }

    private static void ThrowIfCapturing(Delegate accessor, string paramName, string op)
    {
        if (HandlerTargets.CanCapture(accessor))
        {
            throw new ArgumentException(
                $"The {paramName} accessor captures variables or 'this' (its target is {accessor.Target!.GetType().Name}). "
                + "A weak subscription keeps its accessors while it is attached, so a lambda such as "
                + $"'(s, h) => _feed.Changed {op} h' written inside the owner would keep the owner alive for ever. "
                + $"Use the source parameter in a static lambda: 'static (s, h) => s.Changed {op} h'.",
                paramName);
        }
    }

    /// <summary>An <c>add</c>/<c>remove</c> pair found not to capture.</summary>
    private sealed class AccessorPair(Delegate add, Delegate remove)
    {
        public Delegate Add { get; } = add;

        public Delegate Remove { get; } = remove;
    }

    /// <summary>The last safe accessor pair per event shape (a benign race: a lost write only costs a later check).</summary>
    private static class SafeAccessors<TSource, TArgs>
    {
        private static AccessorPair? _last;

        public static bool IsLast(Delegate add, Delegate remove) =>
            Volatile.Read(ref _last) is { } last && ReferenceEquals(last.Add, add) && ReferenceEquals(last.Remove, remove);

        public static void Remember(Delegate add, Delegate remove) => Volatile.Write(ref _last, new AccessorPair(add, remove));
    }
}
