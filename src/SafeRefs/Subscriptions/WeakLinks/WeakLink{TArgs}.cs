using System.Runtime.CompilerServices;

namespace SafeRefs.Subscriptions.WeakLinks;

/// <summary>A weak link whose forwarder receives <typeparamref name="TArgs"/> and calls an <c>Action&lt;TOwner, object?, TArgs&gt;</c>.</summary>
/// <typeparam name="TArgs">The event arguments type.</typeparam>
internal abstract class WeakLink<TArgs> : WeakLink
{
    /// <summary>Initializes a new instance of the <see cref="WeakLink{TArgs}"/> class.</summary>
    /// <param name="source">The event source; held weakly.</param>
    /// <param name="isThreadAffine">Whether the source's <c>remove</c> must run on the subscribing thread.</param>
    /// <param name="owner">The owner; held weakly.</param>
    /// <param name="handler">An <c>Action&lt;TOwner, object?, TArgs&gt;</c> with a reference-type <c>TOwner</c>.</param>
    /// <param name="eventName">The event's name or <c>add</c> expression, for logs.</param>
    /// <param name="isCounted">Whether the active-subscriptions metric counts the link.</param>
    protected WeakLink(object source, bool isThreadAffine, object owner, Delegate handler, string? eventName, bool isCounted)
        : base(source, isThreadAffine, owner, handler, eventName, isCounted)
    {
    }

    /// <summary>The forwarder: the method the source's event delegate calls.</summary>
    protected void Forward(object? sender, TArgs args)
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
            EndInvoke();
        }
    }
}
