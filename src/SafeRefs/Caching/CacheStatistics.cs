namespace SafeRefs.Caching;

/// <summary>A snapshot of a cache's counters since it was created.</summary>
/// <remarks>
/// <para><b>Holds</b> nothing but numbers; <b>thread safety:</b> immutable. Counters are read one after the other
/// without a global lock, so under concurrent traffic they are each exact but not a single atomic snapshot.</para>
/// </remarks>
public sealed class CacheStatistics
{
    internal CacheStatistics(long hits, long misses, long evictions)
    {
        Hits = hits;
        Misses = misses;
        Evictions = evictions;
    }

    /// <summary>Gets the number of lookups that found a live entry.</summary>
    /// <value>The hit count.</value>
    public long Hits { get; }

    /// <summary>Gets the number of lookups that found nothing (or an expired entry).</summary>
    /// <value>The miss count.</value>
    public long Misses { get; }

    /// <summary>Gets the number of entries removed to respect the capacity or weight bound, or because they expired.</summary>
    /// <value>The eviction count (explicit removals, replacements and clears are not counted).</value>
    public long Evictions { get; }

    /// <summary>Gets <see cref="Hits"/> divided by all lookups.</summary>
    /// <value>A value between 0 and 1; 0 when there was no lookup.</value>
    public double HitRatio => Hits + Misses == 0 ? 0 : (double)Hits / (Hits + Misses);

    /// <inheritdoc/>
    public override string ToString() => $"Hits = {Hits}, Misses = {Misses}, Evictions = {Evictions}, HitRatio = {HitRatio:P2}";
}
