using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Docs;

/// <summary>The hand-registered forwarder of docs/analyzers/SR1012.md, compiled and run.</summary>
public sealed class EventForwardersDocs
{
    public delegate void PriceHandler(string symbol, decimal price);

    [Fact]
    public void SR1012_HandRegisteredForwarder_GatesTheHandler()
    {
        #region docs-sr1012-register
        EventForwarders.Register<PriceHandler>(static gate => (string symbol, decimal price) =>
        {
            if (gate.TryEnter(out var state) is PriceHandler handler)
            {
                try
                {
                    handler(symbol, price);
                }
                finally
                {
                    gate.Leave(state);
                }
            }
        });
        #endregion

        var feed = new Feed();
        var calls = 0;
        var token = SubscribeGeneric(feed, (PriceHandler)((_, _) => calls++));
        var read = feed.Read()!;
        read("X", 1m);
        token.Dispose();
        read("X", 1m);

        Assert.Equal(1, calls);
    }

    // A generic helper: the generator sees no concrete type here, so the forwarder above is the one used.
#pragma warning disable SR1012
    private static Subscription SubscribeGeneric<THandler>(Feed feed, THandler handler)
        where THandler : Delegate =>
        Subscribe.Event(feed, static (f, h) => f.Add(h), static (f, h) => f.Remove(h), handler);
#pragma warning restore SR1012

    private sealed class Feed
    {
        private Delegate? _handlers;

        public void Add(Delegate handler) => _handlers = Delegate.Combine(_handlers, handler);

        public void Remove(Delegate handler) => _handlers = Delegate.Remove(_handlers, handler);

        public PriceHandler? Read() => (PriceHandler?)_handlers;
    }
}
