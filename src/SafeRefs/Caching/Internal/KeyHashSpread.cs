namespace SafeRefs.Caching.Internal;

/// <summary>
/// Spreads a key's 32-bit hash over 64 well-mixed bits, for the cache's probabilistic structures (the frequency
/// sketch and the ghost filter): comparers often return hashes with clustered low bits (small integers), and both
/// structures index by bit ranges of the result.
/// </summary>
internal static class KeyHashSpread
{
    /// <summary>The murmur3 finaliser of <paramref name="hash"/>, widened by a 64-bit golden-ratio multiply.</summary>
    internal static ulong Spread(int hash)
    {
        var h = (uint)hash;
        h ^= h >> 16;
        h *= 0x85EBCA6Bu;
        h ^= h >> 13;
        h *= 0xC2B2AE35u;
        h ^= h >> 16;
        return h * 0x9E3779B97F4A7C15UL;
    }
}
