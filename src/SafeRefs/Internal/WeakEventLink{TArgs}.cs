using System.Runtime;
using System.Runtime.CompilerServices;

namespace SafeRefs.Internal;

/// <summary>
/// A weak event link whose forwarder receives <typeparamref name="TArgs"/>: it calls the owner-bound handler with the
/// owner, or detaches when the owner is gone.
/// </summary>
/// <typeparam name="TArgs">The event arguments type.</typeparam>
/// <remarks>
/// A handler that captures nothing (a static lambda) is held strongly and the owner through the slot's weak handle.
/// A handler that may capture (its target is not the compiler's lambda singleton) is the dependent of a
/// <see cref="DependentHandle"/> whose primary is the owner, so it lives exactly as long as the owner: it may capture
/// the owner without keeping it alive and is never collected while the owner lives.
/// </remarks>
internal abstract class WeakEventLink<TArgs> : WeakEventLink
{
    private DependentHandle _ownerToHandler;

    /// <summary>Initializes a new instance of the <see cref="WeakEventLink{TArgs}"/> class.</summary>
    /// <param name="slot">The claimed slot (owner and source handles).</param>
    /// <param name="owner">The owner.</param>
    /// <param name="handler">An <c>Action&lt;TOwner, object?, TArgs&gt;</c> with a reference-type <c>TOwner</c>.</param>
    /// <param name="state">What the derived link keeps in the token's second slot (<see cref="Subscriptions.Subscription.Slot1"/>).</param>
    protected WeakEventLink(LinkSlot slot, object owner, Delegate handler, object? state)
        : base(slot, state, HandlerTargets.CanCapture(handler) ? null : handler)
    {
        // The token's third slot holds a handler that captures nothing; one that may capture lives as long as the owner.
        if (Slot2 is null)
        {
            _ownerToHandler = new DependentHandle(owner, handler);
            OwnsHandles = true;
        }
    }

    /// <inheritdoc/>
    protected override bool IsDead()
    {
        var owner = OwnsHandles ? _ownerToHandler.Target : Slot.Owner.TryGetTarget(out var target) ? target : null;
        var sourceAlive = Slot.Source.TryGetTarget(out _);

        // Read through a slot that another link took over: this link is detached, nothing to purge.
        return SlotStillThisLinks() && (owner is null || !sourceAlive);
    }

    /// <inheritdoc/>
    protected override void FreeOwnHandles()
    {
        if (_ownerToHandler.IsAllocated)
        {
            _ownerToHandler.Dispose();
        }
    }

    /// <summary>The forwarder: the method the source's event delegate calls.</summary>
    protected void Invoke(object? sender, TArgs args)
    {
        if (!Enter())
        {
            return;
        }

        try
        {
            object? owner;
            Delegate? handler;
            if (OwnsHandles)
            {
                (owner, var dependent) = _ownerToHandler.TargetAndDependent;
                handler = Unsafe.As<Delegate>(dependent);
            }
            else
            {
                owner = Slot.Owner.TryGetTarget(out var target) ? target : null;
                handler = Unsafe.As<Delegate>(Slot2);
                if (!SlotStillThisLinks())
                {
                    // The slot went back to the registry and on to another link: this link is detached.
                    return;
                }
            }

            if (owner is null)
            {
                if (TryClaim())
                {
                    DetachClaimed();
                }
                else
                {
                    // A purge on another thread won the detach and may not have removed the forwarder yet. Remove it
                    // here too (removing an absent handler is a no-op), so the source is clean when this raise returns.
                    RemoveFromSource();
                }

                return;
            }

            // The handler is an Action<TOwner, object?, TArgs> and owner is a TOwner (reference type): same call shape.
            Unsafe.As<Action<object, object?, TArgs>>(handler!)(owner, sender, args);
        }
        finally
        {
            Exit();
        }
    }
}
