using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SafeRefs.Testing.Internal;

namespace SafeRefs.Testing;

/// <summary>
/// The live objects of a process, counted per type after a full blocking collection: a real heap walk streamed by
/// the runtime over EventPipe (the technique <c>dotnet-gcdump</c> uses), not an estimate from
/// <see cref="GC.GetTotalMemory(bool)"/>.
/// </summary>
/// <remarks>
/// <para><b>Holds</b> only type names and numbers: never a reference to the objects counted, so a snapshot keeps
/// nothing alive.</para>
/// <para><b>Thread safety:</b> immutable; <see cref="Capture(HeapSnapshotOptions?)"/> may be called from any thread,
/// but every capture forces a full blocking collection of the whole process and takes around 100–200 ms.</para>
/// <para>The first capture of a process takes a throw-away snapshot first, because the first EventPipe session
/// allocates in the target. A capture of the current process also runs collections with a finalizer drain before the
/// heap walk, so objects waiting only for their finalizer are not counted as live.</para>
/// </remarks>
public sealed class HeapSnapshot
{
    private const string FormatTag = "saferefs-heap-snapshot/1";

    // Compact on purpose: while LeakHunt takes its later snapshots it keeps the earlier ones, and a snapshot must not
    // look like a leak. Each one holds exactly one String (every name and assembly, back to back) and one Int64[]
    // (per type: count, bytes and the offsets of its two strings); TypeStatistics objects and the lookup are made on
    // demand, after the hunt.
    private const int Stride = 4;

    private readonly string _text;
    private readonly long[] _numbers;
    private IReadOnlyList<TypeStatistics>? _types;
    private Dictionary<string, TypeStatistics>? _byName;

    internal HeapSnapshot(DateTimeOffset takenAt, int processId, IEnumerable<TypeStatistics> types, HeapGraph? graph = null)
    {
        Graph = graph;
        TakenAt = takenAt;
        ProcessId = processId;
        var list = new List<TypeStatistics>(types);
        list.Sort(static (a, b) =>
        {
            int byBytes = b.Bytes.CompareTo(a.Bytes);
            return byBytes != 0 ? byBytes : string.CompareOrdinal(a.Name, b.Name);
        });

        var text = new System.Text.StringBuilder();
        _numbers = new long[list.Count * Stride];
        for (int i = 0; i < list.Count; i++)
        {
            TypeStatistics type = list[i];
            _numbers[Stride * i] = type.Count;
            _numbers[(Stride * i) + 1] = type.Bytes;
            _numbers[(Stride * i) + 2] = ((long)text.Length << 32) | (uint)type.Name.Length;
            text.Append(type.Name);
            _numbers[(Stride * i) + 3] = ((long)text.Length << 32) | (uint)type.Assembly.Length;
            text.Append(type.Assembly);
            ObjectCount += type.Count;
            TotalBytes += type.Bytes;
        }

        _text = text.ToString();
    }

    /// <summary>The types that hold one instance per <see cref="HeapSnapshot"/> kept alive (see the field comment).</summary>
    internal static string[] RetainedTypeNames { get; } = [TypeNames.Of(typeof(HeapSnapshot)), TypeNames.Of(typeof(string)), TypeNames.Of(typeof(long[]))];

    private int TypeCount => _numbers.Length / Stride;

    /// <summary>Gets the reference graph, when <see cref="HeapSnapshotOptions.RecordReferenceGraph"/> asked for it.</summary>
    internal HeapGraph? Graph { get; }

    /// <summary>Gets when the snapshot was taken.</summary>
    /// <value>The time at which the heap walk finished.</value>
    public DateTimeOffset TakenAt { get; }

    /// <summary>Gets the id of the process the snapshot was taken of.</summary>
    /// <value>A process id; the original id for a snapshot read back with <see cref="Load(Stream)"/>.</value>
    public int ProcessId { get; }

    /// <summary>Gets the total shallow size of the objects the options kept.</summary>
    /// <value>Bytes, the sum of <see cref="TypeStatistics.Bytes"/> over <see cref="Types"/>.</value>
    public long TotalBytes { get; }

    /// <summary>Gets the number of live objects the options kept.</summary>
    /// <value>The sum of <see cref="TypeStatistics.Count"/> over <see cref="Types"/>.</value>
    public long ObjectCount { get; }

    /// <summary>Gets one entry per type with live instances, largest total size first.</summary>
    /// <value>A read-only list, made on first use; a name appears once per defining assembly.</value>
    public IReadOnlyList<TypeStatistics> Types => _types ?? Interlocked.CompareExchange(ref _types, CreateTypes(), null) ?? _types!;

    /// <summary>Gets the statistics of the type with the given name (all assemblies together).</summary>
    /// <param name="typeName">
    /// The runtime's name (<see cref="TypeStatistics.Name"/>), <c>typeof(T).ToString()</c> or
    /// <c>typeof(T).FullName</c>; nested and generic names are normalised (see <see cref="NameOf(Type)"/>).
    /// </param>
    /// <returns>The statistics; a zero entry when the type has no live instances.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="typeName"/> is <see langword="null"/>.</exception>
    public TypeStatistics this[string typeName]
    {
        get
        {
            ArgumentNullException.ThrowIfNull(typeName);
            return Lookup(TypeNames.Normalize(typeName));
        }
    }

    /// <summary>
    /// The statistics under a name already in the runtime's form (as <see cref="Types"/> lists it): one dictionary
    /// lookup, no parsing, so the growth rule and diffs stay linear in the number of types.
    /// </summary>
    internal TypeStatistics Lookup(string runtimeName)
    {
        Dictionary<string, TypeStatistics> byName = _byName ?? Interlocked.CompareExchange(ref _byName, CreateLookup(), null) ?? _byName!;
        return byName.TryGetValue(runtimeName, out TypeStatistics? found) ? found : new TypeStatistics(runtimeName, string.Empty, 0, 0);
    }

    /// <summary>Takes a snapshot of the current process.</summary>
    /// <param name="options">Filters and time limit; <see langword="null"/> for the defaults.</param>
    /// <returns>The snapshot.</returns>
    /// <exception cref="HeapSnapshotException">The snapshot cannot be taken; the message says why.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The two Capture overloads are the API fixed by issue 8; they differ in a required first parameter.")]
    public static HeapSnapshot Capture(HeapSnapshotOptions? options = null) => Capture(Environment.ProcessId, options);

    /// <summary>Takes a snapshot of another .NET process (or of the current one, given its id).</summary>
    /// <param name="processId">The id of a running .NET 5+ process of the same user.</param>
    /// <param name="options">Filters and time limit; <see langword="null"/> for the defaults.</param>
    /// <returns>The snapshot.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="processId"/> is zero or negative.</exception>
    /// <exception cref="HeapSnapshotException">
    /// No such process, no permission, the diagnostic port is unreachable or disabled, the platform has none, or the
    /// heap walk did not finish within <see cref="HeapSnapshotOptions.Timeout"/>.
    /// </exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The two Capture overloads are the API fixed by issue 8; they differ in a required first parameter.")]
    public static HeapSnapshot Capture(int processId, HeapSnapshotOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(processId);
        options ??= new HeapSnapshotOptions();
        if (processId != Environment.ProcessId)
        {
            EnsureRunning(processId);
        }

        WalkResult walk = EventPipeHeapWalker.Walk(processId, options.Timeout, options.RecordReferenceGraph, options.WarmUp);
        return new HeapSnapshot(DateTimeOffset.UtcNow, processId, Filter(walk.Types, options), walk.Graph);
    }

    /// <summary>Compares two snapshots type by type.</summary>
    /// <param name="before">The earlier snapshot.</param>
    /// <param name="after">The later snapshot.</param>
    /// <returns>The per-type changes.</returns>
    /// <exception cref="ArgumentNullException">A snapshot is <see langword="null"/>.</exception>
    public static HeapDiff Compare(HeapSnapshot before, HeapSnapshot after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        return new HeapDiff(before, after);
    }

    /// <summary>
    /// The name under which the instances of <paramref name="type"/> appear in a snapshot: the form of
    /// <see cref="Type.ToString"/>, with generic arguments in brackets, without assembly names, and a nested type
    /// after its declaring types.
    /// </summary>
    /// <param name="type">The type.</param>
    /// <returns>For example <c>System.Collections.Generic.List`1[MyApp.Order]</c>, or <c>MyApp.Outer+Inner</c> for <c>Outer.Inner</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="type"/> is <see langword="null"/>.</exception>
    public static string NameOf(Type type) => TypeNames.Of(type);

    /// <summary>Counts the live instances of <typeparamref name="T"/> (exact type, not derived types).</summary>
    /// <typeparam name="T">The type, open generics not allowed.</typeparam>
    /// <returns>The number of live instances; zero when there are none or the options filtered the type out.</returns>
    public long CountOf<T>() => this[NameOf(typeof(T))].Count;

    /// <summary>Writes the snapshot as UTF-8 JSON (format <c>saferefs-heap-snapshot/1</c>).</summary>
    /// <param name="utf8Json">The stream to write to; left open.</param>
    /// <exception cref="ArgumentNullException"><paramref name="utf8Json"/> is <see langword="null"/>.</exception>
    public void Save(Stream utf8Json)
    {
        ArgumentNullException.ThrowIfNull(utf8Json);
        using var writer = new Utf8JsonWriter(utf8Json, new JsonWriterOptions { Indented = true });
        writer.WriteStartObject();
        writer.WriteString("format", FormatTag);
        writer.WriteString("takenAt", TakenAt);
        writer.WriteNumber("processId", ProcessId);
        writer.WriteNumber("objectCount", ObjectCount);
        writer.WriteNumber("totalBytes", TotalBytes);
        writer.WriteStartArray("types");
        foreach (TypeStatistics type in Types)
        {
            writer.WriteStartObject();
            writer.WriteString("name", type.Name);
            writer.WriteString("assembly", type.Assembly);
            writer.WriteNumber("count", type.Count);
            writer.WriteNumber("bytes", type.Bytes);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>Reads a snapshot written by <see cref="Save(Stream)"/>.</summary>
    /// <param name="utf8Json">The stream to read; left open.</param>
    /// <returns>The snapshot.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="utf8Json"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidDataException">The stream is not a SafeRefs heap snapshot.</exception>
    public static HeapSnapshot Load(Stream utf8Json)
    {
        ArgumentNullException.ThrowIfNull(utf8Json);
        try
        {
            using JsonDocument document = JsonDocument.Parse(utf8Json);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object ||
                !root.TryGetProperty("format", out JsonElement format) ||
                format.ValueKind != JsonValueKind.String ||
                format.GetString() != FormatTag)
            {
                throw new InvalidDataException($"Not a SafeRefs heap snapshot (expected \"format\": \"{FormatTag}\").");
            }

            var types = new List<TypeStatistics>();
            foreach (JsonElement type in root.GetProperty("types").EnumerateArray())
            {
                types.Add(new TypeStatistics(
                    type.GetProperty("name").GetString() ?? string.Empty,
                    type.TryGetProperty("assembly", out JsonElement assembly) ? assembly.GetString() ?? string.Empty : string.Empty,
                    type.GetProperty("count").GetInt64(),
                    type.GetProperty("bytes").GetInt64()));
            }

            return new HeapSnapshot(root.GetProperty("takenAt").GetDateTimeOffset(), root.GetProperty("processId").GetInt32(), types);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"Not a valid SafeRefs heap snapshot: {ex.Message}", ex);
        }
    }

    /// <summary>Returns a one-line summary: time, objects and bytes.</summary>
    /// <returns>The summary.</returns>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"Heap snapshot of process {ProcessId} at {TakenAt:u}: {ObjectCount:N0} objects, {TotalBytes:N0} B in {TypeCount:N0} types");

    private System.Collections.ObjectModel.ReadOnlyCollection<TypeStatistics> CreateTypes()
    {
        var types = new List<TypeStatistics>(TypeCount);
        for (int i = 0; i < TypeCount; i++)
        {
            types.Add(new TypeStatistics(NameAt(i), AssemblyAt(i), _numbers[Stride * i], _numbers[(Stride * i) + 1]));
        }

        return types.AsReadOnly();
    }

    // One entry per name, all assemblies together; the assembly is kept when only one assembly has instances under
    // the name, and empty when several do.
    private Dictionary<string, TypeStatistics> CreateLookup()
    {
        var byName = new Dictionary<string, TypeStatistics>(TypeCount, StringComparer.Ordinal);
        for (int i = 0; i < TypeCount; i++)
        {
            string name = NameAt(i);
            string assembly = AssemblyAt(i);
            long count = _numbers[Stride * i];
            long bytes = _numbers[(Stride * i) + 1];
            if (byName.TryGetValue(name, out TypeStatistics? seen))
            {
                assembly = string.Equals(seen.Assembly, assembly, StringComparison.Ordinal) ? assembly : string.Empty;
                count += seen.Count;
                bytes += seen.Bytes;
            }

            byName[name] = new TypeStatistics(name, assembly, count, bytes);
        }

        return byName;
    }

    private string NameAt(int i) => Slice(_numbers[(Stride * i) + 2]);

    private string AssemblyAt(int i) => Slice(_numbers[(Stride * i) + 3]);

    private string Slice(long packed) => _text.Substring((int)(packed >> 32), (int)(packed & 0xFFFF_FFFF));

    private static void EnsureRunning(int processId)
    {
        try
        {
            using Process process = Process.GetProcessById(processId);
            if (process.HasExited)
            {
                throw new HeapSnapshotException($"Process {processId} has exited.");
            }
        }
        catch (ArgumentException ex)
        {
            throw new HeapSnapshotException($"No process with id {processId} is running.", ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new HeapSnapshotException($"Process {processId} has exited.", ex);
        }
    }

    private static IEnumerable<TypeStatistics> Filter(IReadOnlyList<TypeStatistics> types, HeapSnapshotOptions options)
    {
        string[] prefixes = [.. options.TypeNamePrefixes.Select(TypeNames.Normalize)];
        var assemblies = new HashSet<string>(options.Assemblies, StringComparer.OrdinalIgnoreCase);
        foreach (TypeStatistics type in types)
        {
            if (!options.IncludeFrameworkTypes && IsFramework(type.Assembly))
            {
                continue;
            }

            if (assemblies.Count > 0 && !assemblies.Contains(type.Assembly))
            {
                continue;
            }

            if (prefixes.Length > 0 && !prefixes.Any(p => TypeNames.Matches(type.Name, p)))
            {
                continue;
            }

            yield return type;
        }
    }

    private static bool IsFramework(string assembly) =>
        assembly.StartsWith("System.", StringComparison.Ordinal) ||
        assembly.StartsWith("Microsoft.", StringComparison.Ordinal) ||
        assembly is "System" or "mscorlib" or "netstandard";
}
