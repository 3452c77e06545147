using System.Runtime.CompilerServices;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>
/// Detaches a plain .NET event handler: arg0 = the <see cref="EventSubscription"/> (its gate already closed by the
/// dispose), arg1 = source, arg2 = remove accessor.
/// </summary>
/// <typeparam name="TSource">The source type.</typeparam>
/// <typeparam name="THandler">The handler type.</typeparam>
internal sealed class EventDetacher<TSource, THandler> : Detacher
    where TSource : class
    where THandler : Delegate
{
    public static readonly EventDetacher<TSource, THandler> Instance = new();

    public override void Detach(object? arg0, object? arg1, object? arg2)
    {
        Metrics.SubscriptionInstruments.Detached();
        var token = Unsafe.As<EventSubscription>(arg0!);
        Unsafe.As<Action<TSource, THandler>>(arg2!)(Unsafe.As<TSource>(arg1!), Unsafe.As<THandler>(token.Attached));
    }

    public override ValueTask WhenCallbacksIdleAsync(object? arg0, object? arg1, object? arg2) =>
        Unsafe.As<EventSubscription>(arg0!).WhenIdleAsync();
}
