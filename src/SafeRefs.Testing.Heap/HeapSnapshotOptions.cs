namespace SafeRefs.Testing;

/// <summary>Which types a <see cref="HeapSnapshot"/> keeps, how long it may take, and the threshold of the leak rule.</summary>
/// <remarks>
/// <para><b>Holds</b> the filter strings strongly.</para>
/// <para><b>Thread safety:</b> not thread-safe to change; a capture reads the options once at its start, so do not
/// change them while a capture runs.</para>
/// </remarks>
public sealed class HeapSnapshotOptions
{
    private TimeSpan _timeout = TimeSpan.FromSeconds(30);
    private double _minimumGrowthPerOperation = 0.5;

    /// <summary>
    /// Gets the type-name prefixes to keep, in any form <see cref="HeapSnapshot"/>'s indexer accepts
    /// (<c>MyApp.</c>, <c>System.Collections.Generic.List`1</c>). Empty keeps every type.
    /// </summary>
    /// <remarks>
    /// Nested types, closures' display classes and compiler-generated state machines are named after their declaring
    /// types (<c>MyApp.Outer+&lt;&gt;c__DisplayClass5_0</c>), so a namespace prefix selects them too.
    /// </remarks>
    /// <value>An empty list by default.</value>
    public IList<string> TypeNamePrefixes { get; } = new List<string>();

    /// <summary>Gets the simple names of the assemblies whose types are kept (<c>MyApp.Core</c>). Empty keeps every assembly.</summary>
    /// <value>An empty list by default.</value>
    public IList<string> Assemblies { get; } = new List<string>();

    /// <summary>
    /// Gets or sets a value indicating whether types defined by the framework are kept: assemblies named
    /// <c>System.*</c>, <c>Microsoft.*</c>, <c>mscorlib</c> and <c>netstandard</c>. Strings, arrays and
    /// <c>List`1[MyType]</c> are framework types, so leave this on to see the collections a leak fills.
    /// </summary>
    /// <value><see langword="true"/> by default.</value>
    public bool IncludeFrameworkTypes { get; set; } = true;

    /// <summary>
    /// Gets or sets a value indicating whether the snapshot also records the reference graph (every object, its
    /// references and the GC roots), from which <see cref="LeakHunt"/> and <c>dotnet-saferefs</c> print retention paths.
    /// </summary>
    /// <remarks>
    /// The graph costs the capturing process about 70 bytes per live object of the target while it is built and about
    /// 20 bytes per object plus 4 per reference while the snapshot is kept; it is not saved by
    /// <see cref="HeapSnapshot.Save(Stream)"/>.
    /// </remarks>
    /// <value><see langword="false"/> by default.</value>
    public bool RecordReferenceGraph { get; set; }

    /// <summary>Gets or sets the time limit for one snapshot; past it the capture throws <see cref="HeapSnapshotException"/>.</summary>
    /// <value>30 seconds by default.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative.</exception>
    public TimeSpan Timeout
    {
        get => _timeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            _timeout = value;
        }
    }

    /// <summary>
    /// Gets or sets the least growth, in objects per operation over the last phase, for <see cref="LeakHunt"/> to
    /// report a type (see <see cref="LeakReport"/> for the whole rule).
    /// </summary>
    /// <value>0.5 by default: a type must gain at least one object every two operations.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero, negative or not a number.</exception>
    public double MinimumGrowthPerOperation
    {
        get => _minimumGrowthPerOperation;
        set
        {
            if (double.IsNaN(value) || value <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The growth threshold must be a positive number.");
            }

            _minimumGrowthPerOperation = value;
        }
    }
}
