using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Docs;

/// <summary>
/// The code of the leak-hunting walkthrough in docs/diagnostics.md (the views of samples/SafeRefs.QuoteService),
/// compiled and run: the first view leaves its handler on the feed, the fixed one removes it when disposed.
/// </summary>
public sealed class LeakHuntDocs
{
    [Fact]
    public void Walkthrough_LeakyView_LeavesOneHandlerPerRequest()
    {
        var feed = new PriceFeed();

        for (var request = 0; request < 3; request++)
        {
            _ = new LeakyQuoteView(feed, "ACME").Render();
        }

        Assert.Equal(3, feed.Listeners);
    }

    [Fact]
    public void Walkthrough_FixedView_LeavesNoHandler()
    {
        var feed = new PriceFeed();

        for (var request = 0; request < 3; request++)
        {
            using var view = new QuoteView(feed, "ACME");
            feed.Publish(42m);
            Assert.Equal("ACME: 42", view.Render());
        }

        Assert.Equal(0, feed.Listeners);
    }

    public sealed class PriceFeed
    {
        public event EventHandler<decimal>? PriceChanged;

        public int Listeners => PriceChanged?.GetInvocationList().Length ?? 0;

        public void Publish(decimal price) => PriceChanged?.Invoke(this, price);
    }

    #region docs-diagnostics-hunt-leaky
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
    #endregion

    #region docs-diagnostics-hunt-fixed
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
    #endregion
}
