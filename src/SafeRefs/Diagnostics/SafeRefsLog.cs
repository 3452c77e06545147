using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace SafeRefs.Diagnostics;

/// <summary>
/// The logger of the work SafeRefs does on its own initiative for its static APIs: weak subscriptions
/// (<c>Subscribe.WeakEvent</c>, <c>WeakSubscriptions</c>) detached by a purge or a raise, and the gen-2 sweeps of weak
/// events. A failure there (a throwing <c>remove</c> accessor, a failed post to a synchronization context) is caught,
/// logged here with its event id and counted; it never ends the process nor reaches an unrelated caller.
/// </summary>
/// <remarks>
/// <para><b>Holds</b> the logger strongly. <b>Thread safety:</b> reads and writes are atomic; set it once at startup.
/// Primitives that take a logger in their options (caches, pools, timer scopes, budgets) log there instead; a timer
/// scope with no <c>Logger</c> logs its failed callbacks here.</para>
/// </remarks>
public static class SafeRefsLog
{
    private static ILogger _logger = NullLogger.Instance;

    /// <summary>Gets or sets the logger.</summary>
    /// <value><see cref="NullLogger.Instance"/> by default; setting <see langword="null"/> restores it.</value>
    public static ILogger Logger
    {
        get => Volatile.Read(ref _logger);
        set => Volatile.Write(ref _logger, value ?? NullLogger.Instance);
    }
}
