namespace SafeRefs.QuoteService;

/// <summary>The view as first written: it subscribes to the feed and never unsubscribes, so the feed keeps every one.</summary>
public sealed class LeakyQuoteView
{
    private readonly string _symbol;
    private decimal _last;

    public LeakyQuoteView(PriceFeed feed, string symbol)
    {
        _symbol = symbol;
        feed.PriceChanged += OnPrice;   // never removed: the feed keeps every view alive
    }

    public string Render() => $"{_symbol}: {_last}";

    private void OnPrice(object? sender, decimal price) => _last = price;
}
