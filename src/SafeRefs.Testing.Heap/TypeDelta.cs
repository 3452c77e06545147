namespace SafeRefs.Testing;

/// <summary>How the live instances of one type changed between two snapshots.</summary>
/// <remarks>
/// <para><b>Holds</b> only the name and numbers.</para>
/// <para><b>Thread safety:</b> immutable.</para>
/// </remarks>
public sealed class TypeDelta
{
    internal TypeDelta(string name, TypeStatistics before, TypeStatistics after)
    {
        Name = name;
        CountBefore = before.Count;
        CountAfter = after.Count;
        BytesBefore = before.Bytes;
        BytesAfter = after.Bytes;
    }

    /// <summary>Gets the type's name in the runtime's form (see <see cref="TypeStatistics.Name"/>).</summary>
    /// <value>The name.</value>
    public string Name { get; }

    /// <summary>Gets the number of live instances in the earlier snapshot.</summary>
    /// <value>Zero or more.</value>
    public long CountBefore { get; }

    /// <summary>Gets the number of live instances in the later snapshot.</summary>
    /// <value>Zero or more.</value>
    public long CountAfter { get; }

    /// <summary>Gets the bytes of the live instances in the earlier snapshot.</summary>
    /// <value>Zero or more.</value>
    public long BytesBefore { get; }

    /// <summary>Gets the bytes of the live instances in the later snapshot.</summary>
    /// <value>Zero or more.</value>
    public long BytesAfter { get; }

    /// <summary>Gets the change in the number of instances.</summary>
    /// <value><see cref="CountAfter"/> minus <see cref="CountBefore"/>; negative when instances were freed.</value>
    public long CountDelta => CountAfter - CountBefore;

    /// <summary>Gets the change in bytes.</summary>
    /// <value><see cref="BytesAfter"/> minus <see cref="BytesBefore"/>.</value>
    public long BytesDelta => BytesAfter - BytesBefore;

    /// <summary>Returns <c>name: before -&gt; after (+delta)</c>.</summary>
    /// <returns>A one-line description.</returns>
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Name}: {CountBefore:N0} -> {CountAfter:N0} ({CountDelta:+#,0;-#,0;0} objects, {BytesDelta:+#,0;-#,0;0} B)");
}
