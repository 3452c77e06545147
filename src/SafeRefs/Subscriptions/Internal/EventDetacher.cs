using System.Runtime.CompilerServices;
using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>Detaches a plain .NET event handler: slot0 = source, slot1 = remove accessor, slot2 = handler.</summary>
/// <typeparam name="TSource">The source type.</typeparam>
/// <typeparam name="THandler">The handler type.</typeparam>
internal sealed class EventDetacher<TSource, THandler> : Detacher
    where TSource : class
    where THandler : Delegate
{
    public static readonly EventDetacher<TSource, THandler> Uncounted = new(counted: false);

    public static readonly EventDetacher<TSource, THandler> Counted = new(counted: true);

    private readonly bool _counted;

    private EventDetacher(bool counted)
    {
        _counted = counted;
    }

    public override void Detach(object? slot0, object? slot1, object? slot2)
    {
        if (_counted)
        {
            Metrics.SubscriptionInstruments.Detached();
        }

        Unsafe.As<Action<TSource, THandler>>(slot1!)(Unsafe.As<TSource>(slot0!), Unsafe.As<THandler>(slot2!));
    }
}
