using Microsoft.Extensions.DependencyInjection;

namespace SafeRefs.Testing.Heap.LeakyTarget;

/// <summary>A long-lived publisher with a static event: every subscriber stays reachable from the static field.</summary>
internal static class PriceFeed
{
    public static event EventHandler? Changed;

    public static int Subscribers => Changed?.GetInvocationList().Length ?? 0;
}

/// <summary>A per-request view that subscribes to <see cref="PriceFeed"/> and never unsubscribes.</summary>
internal sealed class QuoteView
{
    public void OnChanged(object? sender, EventArgs e) => GC.KeepAlive(this);
}

/// <summary>Work registered on a long-lived token and never unregistered.</summary>
internal sealed class RegisteredWork
{
    public void Run() => GC.KeepAlive(this);
}

/// <summary>The state of a timer that was dropped without being disposed: the timer queue keeps it.</summary>
internal sealed class TimerOwner
{
    public static void Tick(object? state) => GC.KeepAlive(state);
}

/// <summary>What a DI singleton accumulates.</summary>
internal sealed class CachedQuote;

/// <summary>A singleton that keeps every quote it is given.</summary>
internal sealed class QuoteCache
{
    private readonly List<CachedQuote> _quotes = [];

    public void Add(CachedQuote quote) => _quotes.Add(quote);
}

/// <summary>The four leaks the retention-path tests look for, each with a known root; every call leaks more.</summary>
internal static class Fixtures
{
    private static readonly CancellationTokenSource Shutdown = new();

    // Kept in a static field so the DI container (and its singletons) has a known root.
    private static readonly ServiceProvider Services = new ServiceCollection().AddSingleton<QuoteCache>().BuildServiceProvider();

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "SR1001", Justification = "Deliberate leak for the retention-path tests.")]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "SR1003", Justification = "Deliberate leak for the retention-path tests.")]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "SR1005", Justification = "Deliberate leak for the retention-path tests.")]
    public static void Leak(int each)
    {
        for (int i = 0; i < each; i++)
        {
            PriceFeed.Changed += new QuoteView().OnChanged;

            var work = new RegisteredWork();
            _ = Shutdown.Token.Register(() => work.Run());

            // Dropped without Dispose: TimeProvider.System timers are rooted by the timer queue while scheduled.
            _ = TimeProvider.System.CreateTimer(TimerOwner.Tick, new TimerOwner(), TimeSpan.FromHours(1), TimeSpan.FromHours(1));
        }

        QuoteCache cache = Services.GetRequiredService<QuoteCache>();
        for (int i = 0; i < each; i++)
        {
            cache.Add(new CachedQuote());
        }
    }
}
