namespace SafeRefs.Benchmarks.Caching;

/// <summary>Deterministic Zipf-distributed key traces (inverse-CDF sampling).</summary>
public static class ZipfTrace
{
    public static int[] Create(int requests, int keys, double skew, int seed)
    {
        var cdf = new double[keys];
        var sum = 0.0;
        for (var i = 0; i < keys; i++)
        {
            sum += 1.0 / Math.Pow(i + 1, skew);
            cdf[i] = sum;
        }

        for (var i = 0; i < keys; i++)
        {
            cdf[i] /= sum;
        }

        var random = new Random(seed);
        var trace = new int[requests];
        for (var i = 0; i < requests; i++)
        {
            var index = Array.BinarySearch(cdf, random.NextDouble());
            trace[i] = index < 0 ? Math.Min(~index, keys - 1) : index;
        }

        // Scatter ranks over the key space so that hot keys are not the small integers.
        var permutation = Enumerable.Range(0, keys).ToArray();
        new Random(seed + 1).Shuffle(permutation);
        for (var i = 0; i < requests; i++)
        {
            trace[i] = permutation[trace[i]];
        }

        return trace;
    }

    /// <summary>The same trace with bursts of one-time keys (never requested again) interleaved.</summary>
    public static int[] WithScans(int[] trace, int bursts, int burstLength, int firstOneTimeKey)
    {
        var result = new List<int>(trace.Length + (bursts * burstLength));
        var every = trace.Length / (bursts + 1);
        var next = firstOneTimeKey;
        for (var i = 0; i < trace.Length; i++)
        {
            if (i > 0 && i % every == 0 && i / every <= bursts)
            {
                for (var j = 0; j < burstLength; j++)
                {
                    result.Add(next++);
                }
            }

            result.Add(trace[i]);
        }

        return [.. result];
    }

    /// <summary>A recency-biased trace (where an LRU does well and a pure frequency policy does not): with probability
    /// <paramref name="reuse"/> a request repeats the key requested an exponentially distributed number of requests
    /// ago (mean <paramref name="meanDistance"/>), otherwise it asks for a key never seen before.</summary>
    public static int[] RecencyBiased(int requests, double reuse, int meanDistance, int seed)
    {
        var random = new Random(seed);
        var trace = new int[requests];
        var next = 0;
        for (var i = 0; i < requests; i++)
        {
            if (i > 0 && random.NextDouble() < reuse)
            {
                var back = 1 + (int)(-Math.Log(1 - random.NextDouble()) * meanDistance);
                trace[i] = trace[Math.Max(0, i - back)];
            }
            else
            {
                trace[i] = next++;
            }
        }

        return trace;
    }
}
