using System.Runtime.CompilerServices;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>
/// Detaches a plain .NET event handler: slot0 = the <see cref="EventSubscription"/> (its gate already closed by the
/// dispose), slot1 = source, slot2 = remove accessor.
/// </summary>
/// <typeparam name="TSource">The source type.</typeparam>
/// <typeparam name="THandler">The handler type.</typeparam>
internal sealed class EventDetacher<TSource, THandler> : Detacher
    where TSource : class
    where THandler : Delegate
{
    public static readonly EventDetacher<TSource, THandler> Instance = new();

    public override void Detach(object? slot0, object? slot1, object? slot2)
    {
        Metrics.SubscriptionInstruments.Detached();
        var token = Unsafe.As<EventSubscription>(slot0!);
        Unsafe.As<Action<TSource, THandler>>(slot2!)(Unsafe.As<TSource>(slot1!), Unsafe.As<THandler>(token.Attached));
    }

    public override ValueTask WhenCallbacksIdleAsync(object? slot0, object? slot1, object? slot2) =>
        Unsafe.As<EventSubscription>(slot0!).WhenIdleAsync();
}
