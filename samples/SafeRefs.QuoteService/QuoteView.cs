using SafeRefs.Subscriptions;

namespace SafeRefs.QuoteService;

/// <summary>The fixed view: its subscription lives in a bag that the request disposes with the view.</summary>
public sealed class QuoteView : IDisposable
{
    private readonly SubscriptionBag _subscriptions = new();
    private readonly string _symbol;
    private decimal _last;

    public QuoteView(PriceFeed feed, string symbol)
    {
        _symbol = symbol;
        Subscribe.Event(feed, static (f, h) => f.PriceChanged += h, static (f, h) => f.PriceChanged -= h,
            (EventHandler<decimal>)OnPrice).DisposeWith(_subscriptions);
    }

    public string Render() => $"{_symbol}: {_last}";

    public void Dispose() => _subscriptions.Dispose();   // removes the handler

    private void OnPrice(object? sender, decimal price) => _last = price;
}
