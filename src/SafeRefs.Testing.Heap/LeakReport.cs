using System.Globalization;
using System.Text;
using SafeRefs.Testing.Internal;

namespace SafeRefs.Testing;

/// <summary>
/// The result of a three-snapshot comparison (<see cref="LeakHunt"/>): the types whose live instance counts grew in
/// proportion to the number of operations.
/// </summary>
/// <remarks>
/// <para><b>The growth rule.</b> With snapshots taken after 0, <c>few</c> and <c>few + many</c> operations, a type is a
/// suspect when all three hold: (1) its live count grew in both phases; (2) in the last phase it grew by at least
/// <see cref="HeapSnapshotOptions.MinimumGrowthPerOperation"/> objects per operation (0.5 by default), which keeps
/// noise of a few objects out; (3) the last phase's rate per operation is at least half the first phase's rate, so
/// growth that levels off (a bounded cache filling up, a pool reaching its size, lazy initialisation) is not reported.
/// A leak of one object per operation shows about +1.0/op in both phases and is reported; a cache bounded at
/// 20 entries grows +10 in 10 operations, then +10 in 100 and is not. A bound larger than <c>few + many</c> operations
/// is indistinguishable from a leak: make <c>many</c> larger than any bound you expect.</para>
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
    /// are given, when there is any suspect. The message is the report's table.
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
                $"{grown.Count} type(s) grew with the number of {_unit}s:{Environment.NewLine}{Table(grown)}",
                [.. grown.Select(s => s.TypeName)]);
        }
    }

    /// <summary>Returns the table of suspects (or a line saying there are none).</summary>
    /// <returns>The table.</returns>
    public override string ToString() =>
        Suspects.Count == 0
            ? string.Create(CultureInfo.InvariantCulture, $"No type grew with the number of {_unit}s (snapshots after {string.Join(", ", Operations)} {_unit}s).")
            : Table(Suspects);

    private string Table(IReadOnlyList<GrowingType> rows)
    {
        var text = new StringBuilder();
        string counts = string.Join(" | ", Operations.Select(o => string.Create(CultureInfo.InvariantCulture, $"after {o}")));
        text.Append(CultureInfo.InvariantCulture, $"| type | {counts} | per {_unit} | bytes per {_unit} |").AppendLine();
        text.Append("|---|").Append(string.Concat(Enumerable.Repeat("---:|", Operations.Count))).Append("---:|---:|").AppendLine();
        foreach (GrowingType row in rows)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {row.TypeName} | {string.Join(" | ", row.Counts.Select(c => c.ToString("N0", CultureInfo.InvariantCulture)))} | {row.GrowthPerOperation:+0.##;-0.##;0} | {row.BytesPerOperation:+#,0;-#,0;0} |")
                .AppendLine();
        }

        return text.ToString();
    }
}
