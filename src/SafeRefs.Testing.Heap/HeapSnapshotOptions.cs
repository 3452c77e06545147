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
    private double _minimumBytesPerOperation = 4;
    private int _retentionPathCount = 3;

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
    /// The graph costs the capturing process memory in proportion to the target's heap: measured on a target holding a
    /// million objects with one reference each, about 95 MB more peak working set while it is built, and about 20 MB
    /// (16 bytes per object plus 4 per reference) while the snapshot is kept; more references per object cost more.
    /// It is not saved by <see cref="HeapSnapshot.Save(Stream)"/>.
    /// </remarks>
    /// <value><see langword="false"/> by default.</value>
    public bool RecordReferenceGraph { get; set; }

    /// <summary>
    /// Gets or sets how many retention paths <see cref="LeakHunt"/> finds per suspect (<see cref="GrowingType.RetentionPaths"/>).
    /// When above zero, the hunt's last snapshot records the reference graph (see <see cref="RecordReferenceGraph"/>
    /// for the cost); zero turns paths off.
    /// </summary>
    /// <value>3 by default.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int RetentionPathCount
    {
        get => _retentionPathCount;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _retentionPathCount = value;
        }
    }

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

    /// <summary>
    /// Gets or sets the least byte growth per operation over the last phase for <see cref="LeakHunt"/> to report a
    /// type whose instance count stays steady (the bytes rule, see <see cref="LeakReport"/>).
    /// </summary>
    /// <value>4 by default: one <see cref="int"/> per operation, what a leaking <c>List&lt;int&gt;</c> gains.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero, negative or not a number.</exception>
    public double MinimumBytesPerOperation
    {
        get => _minimumBytesPerOperation;
        set
        {
            if (double.IsNaN(value) || value <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The growth threshold must be a positive number.");
            }

            _minimumBytesPerOperation = value;
        }
    }

    /// <summary>
    /// Gets or sets a value indicating whether the first capture of a process in this process begins with a
    /// collection that settles what the first EventPipe sessions leave behind, so that it compares with the next ones.
    /// The <c>snapshot</c> command, which takes one snapshot per run, turns it off: one collection per snapshot.
    /// </summary>
    internal bool WarmUp { get; set; } = true;

    /// <summary>A copy for the last snapshot of a hunt: the reference graph is recorded when paths are wanted.</summary>
    internal HeapSnapshotOptions ForLastSnapshot()
    {
        var copy = new HeapSnapshotOptions
        {
            IncludeFrameworkTypes = IncludeFrameworkTypes,
            Timeout = Timeout,
            RecordReferenceGraph = RecordReferenceGraph || RetentionPathCount > 0,
        };
        foreach (string prefix in TypeNamePrefixes)
        {
            copy.TypeNamePrefixes.Add(prefix);
        }

        foreach (string assembly in Assemblies)
        {
            copy.Assemblies.Add(assembly);
        }

        return copy;
    }
}
