using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Primitives;
using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Docs;

/// <summary>The examples of docs/subscriptions.md and the README quick start, compiled and run.</summary>
public sealed class SubscriptionsDocs
{
    [Fact]
    public void Readme_QuickStart_Runs()
    {
        var feed = new PriceFeed();
        #region docs-readme-subscriptions
        using var bag = new SubscriptionBag();
        Subscribe.Event(feed, static (f, h) => f.PriceChanged += h, static (f, h) => f.PriceChanged -= h,
                (EventHandler<decimal>)((_, price) => Console.WriteLine(price)))
            .DisposeWith(bag);
        // ... later: bag.Dispose() removes every handler it holds, last in first out.
        #endregion
        Assert.Equal(1, feed.HandlerCount);
        bag.Dispose();
        Assert.Equal(0, feed.HandlerCount);
    }

    [Fact]
    public void Event_RiskyAndSafe_Run()
    {
        var feed = new PriceFeed();
        var risky = new RiskyDashboard(feed);
        Assert.Equal(1, feed.HandlerCount);
        GC.KeepAlive(risky);

        var dashboard = new Dashboard(feed);
        Assert.Equal(2, feed.HandlerCount);
        feed.Publish(3m);
        Assert.Equal(3m, dashboard.Last);
        dashboard.Dispose();
        Assert.Equal(1, feed.HandlerCount);
    }

    [Fact]
    public void Cancellation_RiskyAndSafe_Run()
    {
        using var appStopping = new CancellationTokenSource();
        var request = new RequestState();
        RiskyRegister(request, appStopping.Token);

        #region docs-subscriptions-cancel-safe
        using (Subscribe.OnCancel(appStopping.Token, static s => ((RequestState)s!).Abort(), request))
        {
            // ... the request's work; leaving the block unregisters, so the token no longer roots the request.
        }
        #endregion
    }

    [Fact]
    public void ChangeToken_RiskyAndSafe_Run()
    {
        var options = new ReloadingOptions();
        var reloads = 0;
        RiskyOnChange(options, () => reloads++);

        #region docs-subscriptions-onchange-safe
        var subscription = Subscribe.OnChange(options.GetReloadToken, () => reloads++);
        // ... when the listener goes away:
        subscription.Dispose();
        #endregion

        options.Reload();
        Assert.Equal(1, reloads);
    }

    [Fact]
    public void Budget_ListenerPerRequest_Warns()
    {
        var connection = new PriceFeed();
        var logger = new FakeLogger();
        #region docs-subscriptions-budget
        var budget = new ListenerBudget(maxListeners: 10, logger);
        budget.Exceeded += (_, e) => Console.WriteLine($"{e.Source.GetType().Name}.{e.EventName}: {e.Count} > {e.MaxListeners}");

        for (var request = 0; request < 11; request++)
        {
            // The bug: one handler per request on a long-lived connection, never removed.
            Subscribe.Event(connection, static (c, h) => c.PriceChanged += h, static (c, h) => c.PriceChanged -= h,
                (EventHandler<decimal>)((_, _) => { }), budget);
        }

        // The 11th listener logged once: "Possible listener leak: 11 listeners on ...PriceFeed.PriceChanged, above the limit of 10."
        #endregion
        Assert.Single(logger.Collector.GetSnapshot());
    }

    [Fact]
    public void Budget_Throw_Refuses()
    {
        var connection = new PriceFeed();
        #region docs-subscriptions-budget-throw
        var strict = new ListenerBudget(maxListeners: 1) { OnExceeded = ListenerBudgetAction.Throw };
        using var first = Subscribe.Event(connection, static (c, h) => c.PriceChanged += h, static (c, h) => c.PriceChanged -= h,
            (EventHandler<decimal>)((_, _) => { }), strict);
        Assert.Throws<ListenerLimitExceededException>(() => Subscribe.Event(connection, static (c, h) => c.PriceChanged += h,
            static (c, h) => c.PriceChanged -= h, (EventHandler<decimal>)((_, _) => { }), strict));
        #endregion
        Assert.Equal(1, connection.HandlerCount);
    }

    [Fact]
    public void WeakEvent_Runs()
    {
        var feed = new PriceFeed();
        var view = new PriceView(feed);
        feed.Publish(5m);
        Assert.Equal(5m, view.Shown);
    }

    [Fact]
    public void Bag_Lifetime_Runs()
    {
        using var hostStopping = new CancellationTokenSource();
        var feed = new PriceFeed();
        #region docs-subscriptions-bag-lifetime
        var bag = new SubscriptionBag(hostStopping.Token);   // disposes itself when the host stops
        Subscribe.Event(feed, static (f, h) => f.PriceChanged += h, static (f, h) => f.PriceChanged -= h,
            (EventHandler<decimal>)((_, _) => { })).DisposeWith(bag);
        _ = PollAsync(bag.Lifetime);                          // per-lifetime work stops with the bag

        bag.Dispose();   // early: also unregisters from hostStopping, leaving nothing on that token
        #endregion
        Assert.Equal(0, feed.HandlerCount);
    }

    private static Task PollAsync(CancellationToken token) => Task.Delay(Timeout.Infinite, token).ContinueWith(static _ => { }, TaskScheduler.Default);

#pragma warning disable SR1005 // the risky pattern, shown on purpose
    #region docs-subscriptions-cancel-risky
    private static void RiskyRegister(RequestState request, CancellationToken appStopping)
    {
        // The registration is discarded: the long-lived token now roots `request` (and, through the captured
        // ExecutionContext, its AsyncLocals) until the application stops.
        appStopping.Register(() => request.Abort());
    }
    #endregion
#pragma warning restore SR1005

#pragma warning disable SR1006 // the risky pattern, shown on purpose
    #region docs-subscriptions-onchange-risky
    private static void RiskyOnChange(ReloadingOptions options, Action onReload)
    {
        // The IDisposable is discarded: the options source roots onReload (and whatever it captures) forever.
        ChangeToken.OnChange(options.GetReloadToken, onReload);
    }
    #endregion
#pragma warning restore SR1006

    #region docs-subscriptions-event-risky
    public sealed class RiskyDashboard
    {
        public RiskyDashboard(PriceFeed feed)
        {
            feed.PriceChanged += OnPrice;   // never removed: the feed keeps every dashboard alive
        }

        private void OnPrice(object? sender, decimal price)
        {
        }
    }
    #endregion

    #region docs-subscriptions-event-safe
    public sealed class Dashboard : IDisposable
    {
        private readonly SubscriptionBag _subscriptions = new();

        public Dashboard(PriceFeed feed)
        {
            Subscribe.Event(feed, static (f, h) => f.PriceChanged += h, static (f, h) => f.PriceChanged -= h,
                (EventHandler<decimal>)OnPrice).DisposeWith(_subscriptions);
        }

        public decimal Last { get; private set; }

        public void Dispose() => _subscriptions.Dispose();   // removes the handler

        private void OnPrice(object? sender, decimal price) => Last = price;
    }
    #endregion

    #region docs-subscriptions-weak
    public sealed class PriceView
    {
        public PriceView(PriceFeed feed)
        {
            // The feed holds a small forwarder, not the view: the view can be collected without Dispose,
            // and its forwarder is then removed from the feed without the event having to fire.
            Subscribe.WeakEvent<PriceFeed, PriceView, decimal>(feed,
                static (f, h) => f.PriceChanged += h, static (f, h) => f.PriceChanged -= h,
                this, static (view, _, price) => view.Shown = price);
        }

        public decimal Shown { get; private set; }
    }
    #endregion

    public sealed class PriceFeed
    {
        public event EventHandler<decimal>? PriceChanged;

        public int HandlerCount => PriceChanged?.GetInvocationList().Length ?? 0;

        public void Publish(decimal price) => PriceChanged?.Invoke(this, price);
    }

    public sealed class RequestState
    {
        public bool Aborted { get; private set; }

        public void Abort() => Aborted = true;
    }

    public sealed class ReloadingOptions
    {
        private CancellationTokenSource _reload = new();

        public IChangeToken GetReloadToken() => new CancellationChangeToken(_reload.Token);

        public void Reload()
        {
            var old = _reload;
            _reload = new CancellationTokenSource();
            old.Cancel();
        }
    }
}
