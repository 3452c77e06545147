using System.Globalization;

namespace SafeRefs.Testing;

/// <summary>
/// A type whose live instances, or their bytes, grew in proportion to the number of operations: a leak suspect in a
/// <see cref="LeakReport"/>.
/// </summary>
/// <remarks>
/// <para><b>Holds</b> only the name and numbers.</para>
/// <para><b>Thread safety:</b> immutable.</para>
/// </remarks>
public sealed class GrowingType
{
    internal GrowingType(string typeName, IReadOnlyList<long> operations, IReadOnlyList<long> counts, IReadOnlyList<long> bytes, LeakRule rule)
    {
        TypeName = typeName;
        Rule = rule;
        Operations = operations;
        Counts = counts;
        Bytes = bytes;
        double span = operations[^1] - operations[0];
        GrowthPerOperation = (counts[^1] - counts[0]) / span;
        BytesPerOperation = (bytes[^1] - bytes[0]) / span;
    }

    /// <summary>Gets the type's name in the runtime's form (see <see cref="TypeStatistics.Name"/>).</summary>
    /// <value>The name.</value>
    public string TypeName { get; }

    /// <summary>
    /// Gets the shortest paths from a GC root to the suspect's instances in the last snapshot (from a static field or a
    /// GC handle whenever one reaches them, even if a thread's stack or the finalizer queue reaches them in fewer hops:
    /// those hold objects only for a while), the path whose instances hold the most bytes first (for the bytes rule: the largest instances, which need not be the one that grew); empty
    /// when the last snapshot did not record the reference graph
    /// (<see cref="HeapSnapshotOptions.RetentionPathCount"/>).
    /// </summary>
    /// <value>At most <see cref="HeapSnapshotOptions.RetentionPathCount"/> paths.</value>
    public IReadOnlyList<RetentionPath> RetentionPaths { get; private set; } = [];

    /// <summary>
    /// Gets the bytes the suspect's instances keep alive in the last snapshot: what a collection would free if nothing
    /// referenced them any more (the instances included).
    /// </summary>
    /// <value>Bytes; <see langword="null"/> when the last snapshot did not record the reference graph.</value>
    public long? RetainedBytes { get; private set; }

    /// <summary>Gets the rule that made the type a suspect.</summary>
    /// <value><see cref="LeakRule.InstanceCount"/> when its instances multiplied; <see cref="LeakRule.Bytes"/> when their count stayed steady and their bytes grew.</value>
    public LeakRule Rule { get; }

    /// <summary>Gets the number of operations run before each snapshot (for the CLI: the snapshot's index).</summary>
    /// <value>For <see cref="LeakHunt"/>: 0, few, few + many.</value>
    public IReadOnlyList<long> Operations { get; }

    /// <summary>Gets the live instance count at each snapshot.</summary>
    /// <value>One count per snapshot, in order.</value>
    public IReadOnlyList<long> Counts { get; }

    /// <summary>Gets the bytes of the live instances at each snapshot.</summary>
    /// <value>One number per snapshot, in order.</value>
    public IReadOnlyList<long> Bytes { get; }

    /// <summary>Gets the count at the baseline snapshot.</summary>
    /// <value>The first of <see cref="Counts"/>.</value>
    public long BaselineCount => Counts[0];

    /// <summary>Gets the count after the few operations.</summary>
    /// <value>The second of <see cref="Counts"/>.</value>
    public long AfterFewCount => Counts[1];

    /// <summary>Gets the count after the many operations.</summary>
    /// <value>The last of <see cref="Counts"/>.</value>
    public long AfterManyCount => Counts[^1];

    /// <summary>Gets the average number of instances gained per operation between the first and last snapshots.</summary>
    /// <value>About 1.0 for a leak of one object per operation.</value>
    public double GrowthPerOperation { get; }

    /// <summary>Gets the average number of bytes gained per operation between the first and last snapshots.</summary>
    /// <value>Shallow bytes per operation.</value>
    public double BytesPerOperation { get; }

    // Set once, before the report is handed out.
    internal void SetRetention(IReadOnlyList<RetentionPath> paths, long retainedBytes)
    {
        RetentionPaths = paths;
        RetainedBytes = retainedBytes;
    }

    /// <summary>Returns <c>name: c0 -&gt; c1 -&gt; c2 (+g/op, +b B/op, rule)</c>.</summary>
    /// <returns>A one-line description.</returns>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{TypeName}: {string.Join(" -> ", Counts)} ({GrowthPerOperation:+0.##;-0.##;0}/op, {BytesPerOperation:+#,0;-#,0;0} B/op, {(Rule == LeakRule.Bytes ? "bytes" : "count")} rule)");
}
