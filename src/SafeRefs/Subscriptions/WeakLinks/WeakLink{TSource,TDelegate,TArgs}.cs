using System.Runtime.CompilerServices;

namespace SafeRefs.Subscriptions.WeakLinks;

/// <summary>
/// A weak link to an event of delegate type <typeparamref name="TDelegate"/> whose handler is an
/// <c>Action&lt;TOwner, object?, TArgs&gt;</c>. Each weak-subscription API is one instantiation, given the event's
/// accessors and its forwarder (<c>static link =&gt; link.Forward</c>, converted to the event's delegate type).
/// </summary>
/// <typeparam name="TSource">The type the accessors take.</typeparam>
/// <typeparam name="TDelegate">The event's delegate type.</typeparam>
/// <typeparam name="TArgs">The event arguments type.</typeparam>
internal sealed class WeakLink<TSource, TDelegate, TArgs> : WeakLink
    where TSource : class
    where TDelegate : Delegate
{
    private readonly TDelegate _forward;
    private readonly Action<TSource, TDelegate> _remove;

    private WeakLink(
        TSource source, Action<TSource, TDelegate> remove, Func<WeakLink<TSource, TDelegate, TArgs>, TDelegate> forwarder, object owner, Delegate handler, string? eventName, bool isCounted)
        : base(source, owner, handler, eventName, isCounted)
    {
        _remove = remove;
        _forward = forwarder(this);
    }

    /// <summary>
    /// Adds a new link's forwarder (made by <paramref name="forwarder"/>: <c>static link =&gt; link.Forward</c>) to the
    /// source, registers the link and returns it as the token. <paramref name="handler"/> is an
    /// <c>Action&lt;TOwner, object?, TArgs&gt;</c> with a reference-type <c>TOwner</c>; <paramref name="remove"/> is kept
    /// until the link is detached. Whatever <paramref name="add"/> throws propagates, and nothing stays registered.
    /// </summary>
    internal static Subscription Start(
        TSource source,
        Action<TSource, TDelegate> add,
        Action<TSource, TDelegate> remove,
        Func<WeakLink<TSource, TDelegate, TArgs>, TDelegate> forwarder,
        object owner,
        Delegate handler,
        string? eventName,
        bool isCounted)
    {
        var link = new WeakLink<TSource, TDelegate, TArgs>(source, remove, forwarder, owner, handler, eventName, isCounted);
        try
        {
            add(source, link._forward);
        }
        catch
        {
            link.Abandon();
            throw;
        }

        link.Register(owner);
        return link;
    }

    /// <summary>The forwarder: the method the source's event delegate calls.</summary>
    internal void Forward(object? sender, TArgs args)
    {
        if (!TryBeginInvoke(out var owner, out var handler))
        {
            return;
        }

        try
        {
            // The handler is an Action<TOwner, object?, TArgs> and owner is a TOwner (reference type): same call shape.
            Unsafe.As<Action<object, object?, TArgs>>(handler)(owner, sender, args);
        }
        finally
        {
            Leave();
        }
    }

    /// <inheritdoc/>
    protected override void RemoveFromSource(object source) => _remove(Unsafe.As<TSource>(source), _forward);
}
