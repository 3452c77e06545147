using System.Globalization;
using System.Text;
using SafeRefs.Testing.Internal;

namespace SafeRefs.Testing;

/// <summary>
/// The result of a snapshot comparison (<see cref="LeakHunt"/>, <c>dotnet-saferefs leaks</c>): the types whose live
/// instance counts, or whose bytes, grew in proportion to the number of operations.
/// </summary>
/// <remarks>
/// <para><b>The count rule.</b> With snapshots taken after 0, <c>few</c> and <c>few + many</c> operations, a type is a
/// suspect when all three hold: (1) its live count grew in both phases; (2) in the last phase it grew by at least
/// <see cref="HeapSnapshotOptions.MinimumGrowthPerOperation"/> objects per operation (0.5 by default), which keeps
/// noise of a few objects out; (3) the last phase's rate per operation is at least half the first phase's rate, so
/// growth that levels off (a bounded cache filling up, a pool reaching its size, lazy initialisation) is not reported.
/// A leak of one object per operation shows about +1.0/op in both phases and is reported; a cache bounded at
/// 20 entries grows +10 in 10 operations, then +10 in 100 and is not. A bound larger than <c>few + many</c> operations
/// is indistinguishable from a leak: make <c>many</c> larger than any bound you expect.</para>
/// <para><b>With five snapshots or more</b> (the CLI takes six by default) the count rule is a trend test instead:
/// the least-squares slope of the counts is significant (one-sided t-test at 0.1 %), the counts rise consistently
/// (Kendall's tau at least 0.6), the growth is at least the threshold per step and 10 % of the baseline, and the
/// second half of the snapshots still rises at least half as fast. A count that only fluctuates passes it about once
/// in a thousand types.</para>
/// <para><b>The bytes rule</b> reports a type whose instance count stays steady (the same in all three snapshots of a
/// hunt; within 10 % and 2 objects over five or more) while
/// its bytes grow: one list, dictionary, <c>StringBuilder</c> or delegate invocation list that keeps growing. Arrays
/// grow by doubling, so it looks at cumulative growth: the bytes never fall noticeably below their earlier maximum,
/// and, with three snapshots, they grew in both phases, by at least
/// <see cref="HeapSnapshotOptions.MinimumBytesPerOperation"/> per operation in the last one and at no less than half
/// the first phase's rate; with five snapshots or more, by the threshold per step over the span, by 10 % of the
/// baseline, and still in its second half. An array that doubles needs a resize in each phase: a list that already
/// holds many items needs more operations per phase to show. Each suspect says which rule fired
/// (<see cref="GrowingType.Rule"/>).</para>
/// <para><b>Holds</b> the suspects (names and numbers only).</para>
/// <para><b>Thread safety:</b> immutable.</para>
/// </remarks>
public sealed class LeakReport
{
    private readonly string _unit;

    internal LeakReport(IReadOnlyList<GrowingType> suspects, IReadOnlyList<long> operations, string unit)
    {
        Suspects = suspects;
        Operations = operations;
        _unit = unit;
    }

    /// <summary>Gets the types that grew with the number of operations, the largest growth in bytes first.</summary>
    /// <value>A read-only list, empty when nothing leaked.</value>
    public IReadOnlyList<GrowingType> Suspects { get; }

    /// <summary>Gets the number of operations run before each snapshot.</summary>
    /// <value>For <see cref="LeakHunt"/>: 0, few, few + many.</value>
    public IReadOnlyList<long> Operations { get; }

    /// <summary>
    /// Throws when a suspect's name equals or starts with one of <paramref name="typeNamesOrPrefixes"/>, or, when none
    /// are given, when there is any suspect. The message is the report's table, then each suspect's top retention path.
    /// </summary>
    /// <param name="typeNamesOrPrefixes">Type names (any form <see cref="HeapSnapshot"/>'s indexer accepts) or prefixes such as <c>MyApp.</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="typeNamesOrPrefixes"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectNotCollectedException">A named type grew; <see cref="ObjectNotCollectedException.Survivors"/> lists the types.</exception>
    public void AssertNoGrowth(params string[] typeNamesOrPrefixes)
    {
        ArgumentNullException.ThrowIfNull(typeNamesOrPrefixes);
        string[] patterns = [.. typeNamesOrPrefixes.Select(TypeNames.Normalize)];
        var grown = Suspects
            .Where(s => patterns.Length == 0 || patterns.Any(p => TypeNames.Matches(s.TypeName, p)))
            .ToList();
        if (grown.Count > 0)
        {
            throw new ObjectNotCollectedException(
                $"{grown.Count} type(s) grew with the number of {_unit}s:{Environment.NewLine}{Table(grown)}{Paths(grown, 1)}",
                [.. grown.Select(s => s.TypeName)]);
        }
    }

    /// <summary>Returns the table of suspects (or a line saying there are none).</summary>
    /// <returns>The table.</returns>
    public override string ToString() =>
        Suspects.Count == 0
            ? string.Create(CultureInfo.InvariantCulture, $"No type grew with the number of {_unit}s (snapshots after {string.Join(", ", Operations)} {_unit}s).")
            : Table(Suspects) + Paths(Suspects, int.MaxValue);

    // Under the table: per suspect, what it retains and its top paths from a root (when the graph was recorded).
    private static string Paths(IReadOnlyList<GrowingType> rows, int perSuspect)
    {
        var text = new StringBuilder();
        foreach (GrowingType row in rows)
        {
            if (row.RetainedBytes is not long retained)
            {
                continue;
            }

            text.AppendLine().Append(CultureInfo.InvariantCulture, $"{row.TypeName}: retains {retained:N0} B; kept alive by:").AppendLine();
            foreach (RetentionPath path in row.RetentionPaths.Take(perSuspect))
            {
                text.Append("  ").Append(path.ToString().ReplaceLineEndings(Environment.NewLine + "  ")).AppendLine();
            }
        }

        return text.ToString();
    }

    private string Table(IReadOnlyList<GrowingType> rows)
    {
        var text = new StringBuilder();
        string counts = string.Join(" | ", Operations.Select(o => string.Create(CultureInfo.InvariantCulture, $"after {o}")));
        text.Append(CultureInfo.InvariantCulture, $"| type | {counts} | per {_unit} | bytes per {_unit} | rule |").AppendLine();
        text.Append("|---|").Append(string.Concat(Enumerable.Repeat("---:|", Operations.Count))).Append("---:|---:|---|").AppendLine();
        foreach (GrowingType row in rows)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {row.TypeName} | {string.Join(" | ", row.Counts.Select(c => c.ToString("N0", CultureInfo.InvariantCulture)))} | {row.GrowthPerOperation:+0.##;-0.##;0} | {row.BytesPerOperation:+#,0;-#,0;0} | {(row.Rule == LeakRule.Bytes ? "bytes" : "count")} |")
                .AppendLine();
        }

        return text.ToString();
    }
}
