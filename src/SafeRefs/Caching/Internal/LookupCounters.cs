using System.Runtime.CompilerServices;
using SafeRefs.Internal;

namespace SafeRefs.Caching.Internal;

/// <summary>
/// A cache's hit and miss totals, counted on every lookup in <see cref="StripedCounters"/> (threads rarely share a
/// cache line); the totals are summed on demand. Exact and thread-safe.
/// </summary>
internal sealed class LookupCounters
{
    private const int Hits = 0;
    private const int Misses = 1;

    private readonly StripedCounters _counters = new(2);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Hit() => _counters.Increment(Hits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Miss() => _counters.Increment(Misses);

    public (long Hits, long Misses) Read() => (_counters.Read(Hits), _counters.Read(Misses));
}
