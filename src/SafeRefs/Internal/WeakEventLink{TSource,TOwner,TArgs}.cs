using System.Runtime;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SafeRefs.Internal;

/// <summary>
/// A weak event forwarder: the source's event holds <see cref="Forward"/>; the owner is the primary of a
/// <see cref="DependentHandle"/> whose dependent is the handler, so a handler that captures its owner lives exactly
/// as long as the owner; the source is held through a weak handle.
/// </summary>
/// <typeparam name="TSource">The source type.</typeparam>
/// <typeparam name="TOwner">The owner type.</typeparam>
/// <typeparam name="TArgs">The event arguments type.</typeparam>
internal sealed class WeakEventLink<TSource, TOwner, TArgs> : WeakEventLink
    where TSource : class
    where TOwner : class
{
    private readonly Action<TSource, EventHandler<TArgs>> _remove;
    private readonly EventHandler<TArgs> _forward;
    private DependentHandle _ownerToHandler;
    private WeakGCHandle<TSource> _source;

    public WeakEventLink(TSource source, Action<TSource, EventHandler<TArgs>> remove, TOwner owner, Action<TOwner, object?, TArgs> handler)
    {
        _remove = remove;
        _forward = Invoke;
        _ownerToHandler = new DependentHandle(owner, handler);
        _source = new WeakGCHandle<TSource>(source);
    }

    public EventHandler<TArgs> Forward => _forward;

    /// <summary>Frees the handles of a forwarder that was never attached (its add threw).</summary>
    public void Abandon() => FreeHandles();

    protected override bool IsDead() =>
        _ownerToHandler.Target is null || !_source.TryGetTarget(out _);

    protected override void RemoveFromSource()
    {
        if (_source.TryGetTarget(out var source))
        {
            _remove(source, _forward);
        }
    }

    protected override void FreeHandles()
    {
        _ownerToHandler.Dispose();
        _source.Dispose();
    }

    private void Invoke(object? sender, TArgs args)
    {
        if (!Enter())
        {
            return;
        }

        try
        {
            var (owner, handler) = _ownerToHandler.TargetAndDependent;
            if (owner is null)
            {
                if (!DetachCore())
                {
                    // A purge on another thread won the detach and may not have removed the forwarder yet. Remove it
                    // here too (removing an absent handler is a no-op), so the source is clean when this raise returns.
                    RemoveFromSource();
                }

                return;
            }

            Unsafe.As<Action<TOwner, object?, TArgs>>(handler!)(Unsafe.As<TOwner>(owner), sender, args);
        }
        finally
        {
            Exit();
        }
    }
}
