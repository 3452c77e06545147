namespace SafeRefs.Subscriptions;

/// <summary>Fluent helpers for subscriptions.</summary>
/// <remarks><b>Holds</b> nothing; <b>thread safety:</b> as <see cref="SubscriptionBag"/>.</remarks>
public static class SubscriptionExtensions
{
    /// <summary>Adds <paramref name="item"/> to <paramref name="bag"/> (disposing it at once if the bag is already disposed).</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="item">The subscription or other disposable.</param>
    /// <param name="bag">The bag that will dispose it.</param>
    /// <returns><paramref name="item"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="item"/> or <paramref name="bag"/> is <see langword="null"/>.</exception>
    public static T DisposeWith<T>(this T item, SubscriptionBag bag)
        where T : IDisposable
    {
        ArgumentNullException.ThrowIfNull(bag);
        return bag.Add(item);
    }
}
