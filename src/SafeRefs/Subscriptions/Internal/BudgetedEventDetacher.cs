using System.Runtime.CompilerServices;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.Internal;

/// <summary>
/// Detaches a plain .NET event handler and gives its place back to a budget's counter. One instance per
/// (source, event name, handler type), cached on the counter, so a budgeted subscription costs what an unbudgeted one
/// does.
/// </summary>
/// <typeparam name="TSource">The source type.</typeparam>
/// <typeparam name="THandler">The handler type.</typeparam>
internal sealed class BudgetedEventDetacher<TSource, THandler> : Detacher
    where TSource : class
    where THandler : Delegate
{
    private readonly ListenerCount _counter;

    private BudgetedEventDetacher(ListenerCount counter)
    {
        _counter = counter;
    }

    public static BudgetedEventDetacher<TSource, THandler> For(ListenerCount counter)
    {
        if (counter.CachedDetacher is BudgetedEventDetacher<TSource, THandler> cached)
        {
            return cached;
        }

        var created = new BudgetedEventDetacher<TSource, THandler>(counter);
        counter.CachedDetacher ??= created;
        return created;
    }

    public override void Detach(object? arg0, object? arg1, object? arg2)
    {
        Metrics.SubscriptionInstruments.Detached();
        var token = Unsafe.As<EventSubscription>(arg0!);
        try
        {
            Unsafe.As<Action<TSource, THandler>>(arg2!)(Unsafe.As<TSource>(arg1!), Unsafe.As<THandler>(token.Attached));
        }
        finally
        {
            _counter.Decrement();
        }
    }

    public override ValueTask WhenCallbacksIdleAsync(object? arg0, object? arg1, object? arg2) =>
        Unsafe.As<EventSubscription>(arg0!).WhenIdleAsync();
}
