using System.Diagnostics;

namespace SafeRefs.Caching.Redis.Tests.Infrastructure;

/// <summary>Waits for a condition that another instance makes true through Redis, up to a generous bound (the
/// machine may be loaded); the tests assert the bound, not a timing.</summary>
internal static class Eventually
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    public static async Task<bool> TrueAsync(Func<bool> condition, TimeSpan? within = null)
    {
        var limit = within ?? Bound;
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit)
            {
                return false;
            }

            await Task.Delay(5);
        }

        return true;
    }

    public static async Task<bool> TrueAsync(Func<Task<bool>> condition, TimeSpan? within = null)
    {
        var limit = within ?? Bound;
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > limit)
            {
                return false;
            }

            await Task.Delay(5);
        }

        return true;
    }
}
