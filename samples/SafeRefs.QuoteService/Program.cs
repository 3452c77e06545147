using SafeRefs.QuoteService;

// GET /quote/{symbol} renders a view of the singleton price feed. As first written (LeakyQuoteView) every request
// leaves one handler on the feed, and with it the view; with --fixed the request disposes its QuoteView, which removes
// the handler. GET /listeners tells how many handlers the feed holds.
bool fixedViews = args.Contains("--fixed");
WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.Services.AddSingleton<PriceFeed>();
WebApplication app = builder.Build();

app.MapGet("/quote/{symbol}", (string symbol, PriceFeed feed) =>
{
    if (!fixedViews)
    {
        return new LeakyQuoteView(feed, symbol).Render();
    }

    using var view = new QuoteView(feed, symbol);
    return view.Render();
});
app.MapGet("/listeners", (PriceFeed feed) => feed.Listeners);

app.Run();
