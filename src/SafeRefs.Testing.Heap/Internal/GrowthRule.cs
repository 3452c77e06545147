namespace SafeRefs.Testing.Internal;

/// <summary>
/// The leak rule: which types grew in proportion to the number of operations. Documented on <see cref="LeakReport"/>.
/// </summary>
internal static class GrowthRule
{
    /// <summary>The last phase must grow at least this fraction of the first phase's rate (else growth is levelling off).</summary>
    public const double MinimumSustainedFraction = 0.5;

    /// <summary>Finds the suspects among <paramref name="snapshots"/>, taken after <paramref name="operations"/> operations each.</summary>
    /// <param name="snapshots">The snapshots, in order.</param>
    /// <param name="operations">The number of operations before each snapshot.</param>
    /// <param name="minimumGrowthPerOperation">The threshold of rule (2).</param>
    /// <param name="heldByCaller">
    /// Whether the caller kept each earlier snapshot alive while taking the later ones (LeakHunt does): snapshot i then
    /// counts i instances of each of <see cref="HeapSnapshot.RetainedTypeNames"/> that are the hunt's own, and these
    /// are subtracted.
    /// </param>
    public static List<GrowingType> Suspects(IReadOnlyList<HeapSnapshot> snapshots, IReadOnlyList<long> operations, double minimumGrowthPerOperation, bool heldByCaller)
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
            for (int i = 0; i < snapshots.Count; i++)
            {
                TypeStatistics statistics = snapshots[i].Lookup(name);
                counts[i] = heldByCaller && HeapSnapshot.RetainedTypeNames.Contains(name) ? Math.Max(0, statistics.Count - i) : statistics.Count;
                bytes[i] = statistics.Bytes;
            }

            if (IsSuspect(counts, operations, minimumGrowthPerOperation))
            {
                suspects.Add(new GrowingType(name, operations, counts, bytes));
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
    /// A type is a suspect when (1) its count grew in every phase, (2) the last phase grew at least
    /// <paramref name="minimumGrowthPerOperation"/> per operation, and (3) the last phase's rate is at least half the
    /// first phase's rate, so growth that levels off (a bounded cache filling up) is not reported.
    /// </summary>
    public static bool IsSuspect(IReadOnlyList<long> counts, IReadOnlyList<long> operations, double minimumGrowthPerOperation)
    {
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

    private static double Rate(IReadOnlyList<long> counts, IReadOnlyList<long> operations, int phaseEnd) =>
        (double)(counts[phaseEnd] - counts[phaseEnd - 1]) / (operations[phaseEnd] - operations[phaseEnd - 1]);
}
