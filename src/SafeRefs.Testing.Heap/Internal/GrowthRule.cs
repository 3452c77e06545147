namespace SafeRefs.Testing.Internal;

/// <summary>
/// The leak rules: which types grew in proportion to the number of operations (or intervals). Documented on
/// <see cref="LeakReport"/>.
/// </summary>
internal static class GrowthRule
{
    /// <summary>The last phase must grow at least this fraction of the first phase's rate (else growth is levelling off).</summary>
    public const double MinimumSustainedFraction = 0.5;

    /// <summary>From this many snapshots on, the count rule is a trend test rather than "grew in every phase".</summary>
    public const int TrendSnapshots = 5;

    /// <summary>The trend's growth over the whole span must be at least this fraction of the baseline count.</summary>
    public const double MinimumRelativeGrowth = 0.1;

    /// <summary>Kendall's tau of the counts against time must be at least this (at most one pair in five out of order).</summary>
    public const double MinimumMonotonicity = 0.6;

    // One-sided 0.1 % critical values of Student's t for 1..30 degrees of freedom; 3.29 (the normal's) beyond.
    private static readonly double[] TCritical =
    [
        318.31, 22.327, 10.215, 7.173, 5.893, 5.208, 4.785, 4.501, 4.297, 4.144,
        4.025, 3.930, 3.852, 3.787, 3.733, 3.686, 3.646, 3.610, 3.579, 3.552,
        3.527, 3.505, 3.485, 3.467, 3.450, 3.435, 3.421, 3.408, 3.396, 3.385,
    ];

    /// <summary>Finds the suspects among <paramref name="snapshots"/>, taken after <paramref name="operations"/> operations each.</summary>
    /// <param name="snapshots">The snapshots, in order.</param>
    /// <param name="operations">The number of operations before each snapshot.</param>
    /// <param name="minimumGrowthPerOperation">The least count growth per operation.</param>
    /// <param name="minimumBytesPerOperation">The least byte growth per operation for the bytes rule.</param>
    /// <param name="heldByCaller">
    /// Whether the caller kept each earlier snapshot alive while taking the later ones (LeakHunt does): snapshot i then
    /// counts i instances of each of <see cref="HeapSnapshot.RetainedTypeNames"/> that are the hunt's own, and these
    /// are subtracted.
    /// </param>
    public static List<GrowingType> Suspects(
        IReadOnlyList<HeapSnapshot> snapshots,
        IReadOnlyList<long> operations,
        double minimumGrowthPerOperation,
        double minimumBytesPerOperation,
        bool heldByCaller)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (HeapSnapshot snapshot in snapshots)
        {
            foreach (TypeStatistics type in snapshot.Types)
            {
                names.Add(type.Name);
            }
        }

        var suspects = new List<GrowingType>();
        foreach (string name in names)
        {
            long[] counts = new long[snapshots.Count];
            long[] bytes = new long[snapshots.Count];
            bool retained = heldByCaller && HeapSnapshot.RetainedTypeNames.Contains(name);
            for (int i = 0; i < snapshots.Count; i++)
            {
                TypeStatistics statistics = snapshots[i].Lookup(name);
                counts[i] = retained ? Math.Max(0, statistics.Count - i) : statistics.Count;
                bytes[i] = statistics.Bytes;
            }

            if (IsSuspect(counts, operations, minimumGrowthPerOperation))
            {
                suspects.Add(new GrowingType(name, operations, counts, bytes, LeakRule.InstanceCount));
            }
            else if (!retained && IsBytesSuspect(counts, bytes, operations, minimumBytesPerOperation))
            {
                suspects.Add(new GrowingType(name, operations, counts, bytes, LeakRule.Bytes));
            }
        }

        suspects.Sort(static (a, b) =>
        {
            int byBytes = b.BytesPerOperation.CompareTo(a.BytesPerOperation);
            return byBytes != 0 ? byBytes : string.CompareOrdinal(a.TypeName, b.TypeName);
        });
        return suspects;
    }

    /// <summary>
    /// The count rule. With fewer than <see cref="TrendSnapshots"/> snapshots: (1) the count grew in every phase,
    /// (2) the last phase grew at least <paramref name="minimumGrowthPerOperation"/> per operation, and (3) the last
    /// phase's rate is at least half the first phase's, so growth that levels off is not reported. With more, a
    /// trend test: see <see cref="IsTrend"/>.
    /// </summary>
    public static bool IsSuspect(IReadOnlyList<long> counts, IReadOnlyList<long> operations, double minimumGrowthPerOperation)
    {
        if (counts.Count >= TrendSnapshots)
        {
            return IsTrend(counts, operations, minimumGrowthPerOperation);
        }

        for (int i = 1; i < counts.Count; i++)
        {
            if (counts[i] <= counts[i - 1])
            {
                return false;
            }
        }

        double firstRate = Rate(counts, operations, 1);
        double lastRate = Rate(counts, operations, counts.Count - 1);
        return lastRate >= minimumGrowthPerOperation && lastRate >= MinimumSustainedFraction * firstRate;
    }

    /// <summary>
    /// The trend test for five snapshots or more: the least-squares slope of count against operations is positive
    /// and significant (one-sided t-test at 0.1 %), the counts rise consistently (Kendall's tau at least
    /// <see cref="MinimumMonotonicity"/>), the slope is at least <paramref name="minimumGrowthPerOperation"/>, the
    /// growth over the span is at least <see cref="MinimumRelativeGrowth"/> of the baseline, and the second half of
    /// the snapshots still rises at least half as fast (growth that levels off is not a leak). A count that wanders
    /// without a trend passes all of these together about once in a thousand types.
    /// </summary>
    public static bool IsTrend(IReadOnlyList<long> counts, IReadOnlyList<long> operations, double minimumGrowthPerOperation)
    {
        int n = counts.Count;
        (double slope, double r2) = Fit(counts, operations, 0, n);
        double span = operations[n - 1] - operations[0];
        if (!(slope > 0) || slope < minimumGrowthPerOperation ||
            Math.Min(slope * span, counts[n - 1] - counts[0]) < MinimumRelativeGrowth * counts[0])
        {
            return false;
        }

        if (r2 < 1)
        {
            double t = Math.Sqrt(r2 * (n - 2) / (1 - r2));
            double critical = n - 2 <= TCritical.Length ? TCritical[n - 3] : 3.29;
            if (t < critical)
            {
                return false;
            }
        }

        if (KendallTau(counts) < MinimumMonotonicity)
        {
            return false;
        }

        (double lateSlope, _) = Fit(counts, operations, n / 2, n);
        return lateSlope >= MinimumSustainedFraction * slope;
    }

    /// <summary>
    /// The bytes rule, for a type whose instance count stays steady (the same in all three snapshots; within 10 % and 2
    /// objects over five or more) while its bytes grow:
    /// a static <c>List&lt;int&gt;</c>, a dictionary's entry array, a delegate's invocation list. Arrays grow by
    /// doubling, so with five snapshots or more the rule looks at cumulative growth: (1) the bytes never fall
    /// noticeably below their earlier maximum, (2) they grew at least <paramref name="minimumBytesPerOperation"/> per
    /// operation over the span and by at least 10 % of the baseline, and (3) the second half of the span holds at least
    /// a quarter of the growth. With three snapshots: (1), growth in both phases, the last phase at least
    /// <paramref name="minimumBytesPerOperation"/> per operation and at least half the first phase's rate.
    /// </summary>
    public static bool IsBytesSuspect(IReadOnlyList<long> counts, IReadOnlyList<long> bytes, IReadOnlyList<long> operations, double minimumBytesPerOperation)
    {
        int n = bytes.Count;

        // Steady: with three snapshots (an in-process hunt, where pooled buffers come and go) exactly the same count
        // in each; over five or more, within 10 % and 2 objects.
        bool steady = n < TrendSnapshots
            ? counts[1] == counts[0] && counts[n - 1] == counts[0]
            : Math.Abs(counts[n - 1] - counts[0]) <= Math.Max(2, counts[0] / 10);
        if (n < 3 || !steady)
        {
            return false;
        }

        long growth = bytes[n - 1] - bytes[0];
        double span = operations[n - 1] - operations[0];
        if (growth <= 0)
        {
            return false;
        }

        long max = bytes[0];
        for (int i = 1; i < n; i++)
        {
            if (bytes[i] < max - (growth / 20))
            {
                return false;
            }

            max = Math.Max(max, bytes[i]);
        }

        if (n < TrendSnapshots)
        {
            // Growth in every phase: a one-off resize of some buffer in one phase is not a leak.
            double firstRate = Rate(bytes, operations, 1);
            double lastRate = Rate(bytes, operations, n - 1);
            return firstRate > 0 && lastRate >= minimumBytesPerOperation && lastRate >= MinimumSustainedFraction * firstRate;
        }

        long lateGrowth = bytes[n - 1] - bytes[(n - 1) / 2];
        return growth / span >= minimumBytesPerOperation && growth >= MinimumRelativeGrowth * bytes[0] && lateGrowth * 4 >= growth;
    }

    private static double Rate(IReadOnlyList<long> values, IReadOnlyList<long> operations, int phaseEnd) =>
        (double)(values[phaseEnd] - values[phaseEnd - 1]) / (operations[phaseEnd] - operations[phaseEnd - 1]);

    // Least-squares slope of values against operations over [from, to), and the coefficient of determination.
    private static (double Slope, double R2) Fit(IReadOnlyList<long> values, IReadOnlyList<long> operations, int from, int to)
    {
        int n = to - from;
        double mx = 0, my = 0;
        for (int i = from; i < to; i++)
        {
            mx += operations[i];
            my += values[i];
        }

        mx /= n;
        my /= n;
        double sxx = 0, sxy = 0, syy = 0;
        for (int i = from; i < to; i++)
        {
            double dx = operations[i] - mx;
            double dy = values[i] - my;
            sxx += dx * dx;
            sxy += dx * dy;
            syy += dy * dy;
        }

        if (sxx == 0)
        {
            return (0, 0);
        }

        return (sxy / sxx, syy == 0 ? 1 : sxy * sxy / (sxx * syy));
    }

    private static double KendallTau(IReadOnlyList<long> values)
    {
        int n = values.Count;
        int s = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++)
            {
                s += Math.Sign(values[j] - values[i]);
            }
        }

        return s / (n * (n - 1) / 2.0);
    }
}
