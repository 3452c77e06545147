namespace SafeRefs.QuoteService;

/// <summary>A singleton that publishes prices: it lives as long as the service.</summary>
public sealed class PriceFeed
{
    public event EventHandler<decimal>? PriceChanged;

    /// <summary>Gets the number of handlers attached (the leak shows here too).</summary>
    public int Listeners => PriceChanged?.GetInvocationList().Length ?? 0;

    public void Publish(decimal price) => PriceChanged?.Invoke(this, price);
}
