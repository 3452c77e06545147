using System.Globalization;
using System.Text;
using SafeRefs.Testing.Internal;

namespace SafeRefs.Testing;

/// <summary>The per-type difference between two <see cref="HeapSnapshot"/>s, from <see cref="HeapSnapshot.Compare"/>.</summary>
/// <remarks>
/// <para><b>Holds</b> both snapshots strongly (names and numbers only; no heap objects).</para>
/// <para><b>Thread safety:</b> immutable.</para>
/// <para>Types are matched by name, all assemblies together.</para>
/// </remarks>
public sealed class HeapDiff
{
    private readonly Dictionary<string, TypeDelta> _byName;

    internal HeapDiff(HeapSnapshot before, HeapSnapshot after)
    {
        Before = before;
        After = after;
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (TypeStatistics type in before.Types)
        {
            names.Add(type.Name);
        }

        foreach (TypeStatistics type in after.Types)
        {
            names.Add(type.Name);
        }

        _byName = new Dictionary<string, TypeDelta>(StringComparer.Ordinal);
        var changes = new List<TypeDelta>();
        foreach (string name in names)
        {
            var delta = new TypeDelta(name, before.Lookup(name), after.Lookup(name));
            _byName[name] = delta;
            if (delta.CountDelta != 0 || delta.BytesDelta != 0)
            {
                changes.Add(delta);
            }
        }

        changes.Sort(static (a, b) =>
        {
            int byBytes = Math.Abs(b.BytesDelta).CompareTo(Math.Abs(a.BytesDelta));
            return byBytes != 0 ? byBytes : string.CompareOrdinal(a.Name, b.Name);
        });
        Changes = changes.AsReadOnly();
    }

    /// <summary>Gets the earlier snapshot.</summary>
    /// <value>The snapshot passed first to <see cref="HeapSnapshot.Compare"/>.</value>
    public HeapSnapshot Before { get; }

    /// <summary>Gets the later snapshot.</summary>
    /// <value>The snapshot passed second to <see cref="HeapSnapshot.Compare"/>.</value>
    public HeapSnapshot After { get; }

    /// <summary>Gets the types whose count or bytes changed, largest change in bytes first.</summary>
    /// <value>A read-only list, empty when nothing changed.</value>
    public IReadOnlyList<TypeDelta> Changes { get; }

    /// <summary>Gets the change in total bytes.</summary>
    /// <value><c>After.TotalBytes - Before.TotalBytes</c>.</value>
    public long TotalBytesDelta => After.TotalBytes - Before.TotalBytes;

    /// <summary>Gets the change of one type, by any name form <see cref="HeapSnapshot"/>'s indexer accepts.</summary>
    /// <param name="typeName">The type's name.</param>
    /// <returns>The change; zeros when the type is in neither snapshot.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="typeName"/> is <see langword="null"/>.</exception>
    public TypeDelta this[string typeName]
    {
        get
        {
            ArgumentNullException.ThrowIfNull(typeName);
            string name = TypeNames.Normalize(typeName);
            return _byName.TryGetValue(name, out TypeDelta? delta) ? delta : new TypeDelta(name, Before.Lookup(name), After.Lookup(name));
        }
    }

    /// <summary>Gets the change in the number of live instances of <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">The type.</typeparam>
    /// <returns>The count in <see cref="After"/> minus the count in <see cref="Before"/>.</returns>
    public long CountDeltaOf<T>() => this[HeapSnapshot.NameOf(typeof(T))].CountDelta;

    /// <summary>Returns a table of the changed types, largest first (at most 50 rows).</summary>
    /// <returns>The table.</returns>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{Changes.Count} types changed, total {TotalBytesDelta:+#,0;-#,0;0} B").AppendLine();
        foreach (TypeDelta delta in Changes.Take(50))
        {
            text.Append("  ").Append(delta).AppendLine();
        }

        return text.ToString();
    }
}
