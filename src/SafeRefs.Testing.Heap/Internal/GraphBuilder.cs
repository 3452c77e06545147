using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace SafeRefs.Testing.Internal;

/// <summary>
/// Collects the reference graph while a heap walk streams it (objects with their references in order, roots, static
/// fields, dependent handles) and turns it into a <see cref="HeapGraph"/> of indices once the walk is complete.
/// </summary>
internal sealed class GraphBuilder
{
    /// <summary>
    /// The last rank of the durable roots: static fields and GC handles keep an object for as long as the program
    /// wants. The ranks after it (a thread's stack, the finalizer queue) hold an object only for a while.
    /// </summary>
    public const int LastDurableRank = OtherHandleRank;

    // Root precedence: durable roots before transient ones, and within each, the most telling name first when several
    // roots reach an object at the same depth.
    private const int StaticRank = 0;
    private const int StrongHandleRank = 1;
    private const int OtherHandleRank = 2;
    private const int StackRank = 3;
    private const int FinalizerRank = 4;
    private const int OtherRank = 5;

    private readonly List<ulong> _addresses = [];
    private readonly List<ulong> _types = [];
    private readonly List<long> _sizes = [];
    private readonly List<int> _edgeCounts = [];
    private readonly List<ulong> _edges = [];
    private readonly List<(ulong Address, string Label, int Rank)> _roots = [];
    private readonly List<(ulong Address, ulong TypeId, string Field)> _statics = [];
    private readonly List<(ulong Key, ulong Value)> _dependents = [];

    public void AddNode(ulong address, ulong typeId, long size, int edgeCount)
    {
        _addresses.Add(address);
        _types.Add(typeId);
        _sizes.Add(size);
        _edgeCounts.Add(edgeCount);
    }

    public void AddEdge(ulong target) => _edges.Add(target);

    public void AddRoot(ulong address, GCRootKind kind, GCRootFlags flags)
    {
        if ((flags & GCRootFlags.WeakRef) != 0)
        {
            return; // a weak handle keeps nothing alive
        }

        (string label, int rank) = kind switch
        {
            GCRootKind.Stack when (flags & GCRootFlags.Pinning) != 0 => ("pinned local variable on a thread's stack", StackRank),
            GCRootKind.Stack => ("local variable on a thread's stack", StackRank),
            GCRootKind.Finalizer => ("finalizer queue (the object waits for its finalizer)", FinalizerRank),
            GCRootKind.Handle when (flags & GCRootFlags.Pinning) != 0 => ("pinned GC handle", OtherHandleRank),
            GCRootKind.Handle when (flags & GCRootFlags.RefCounted) != 0 => ("ref-counted GC handle", OtherHandleRank),
            GCRootKind.Handle => ("strong GC handle", StrongHandleRank),
            _ => ($"GC root ({kind})", OtherRank),
        };
        _roots.Add((address, label, rank));
    }

    public void AddStatic(ulong address, ulong typeId, string field) => _statics.Add((address, typeId, field));

    public void AddDependent(ulong key, ulong value) => _dependents.Add((key, value));

    /// <summary>Forgets everything: the walk latched onto a collection that was not the heap walk.</summary>
    public void Clear()
    {
        _addresses.Clear();
        _types.Clear();
        _sizes.Clear();
        _edgeCounts.Clear();
        _edges.Clear();
        _roots.Clear();
        _statics.Clear();
        _dependents.Clear();
    }

    public HeapGraph Build(Dictionary<ulong, string> names, ModuleMetadata metadata)
    {
        int count = _addresses.Count;
        var index = new Dictionary<ulong, int>(count);
        for (int i = 0; i < count; i++)
        {
            index[_addresses[i]] = i;
        }

        var typeIndex = new Dictionary<ulong, int>();
        var typeNames = new List<string>();
        int[] nodeTypes = new int[count];
        for (int i = 0; i < count; i++)
        {
            ulong typeId = _types[i];
            if (!typeIndex.TryGetValue(typeId, out int t))
            {
                t = typeNames.Count;
                typeIndex[typeId] = t;
                typeNames.Add(names.TryGetValue(typeId, out string? name) ? name : TypeTable.Unknown(typeId));
            }

            nodeTypes[i] = t;
        }

        // A dependent handle (ConditionalWeakTable, DependentHandle) keeps its value alive while its key lives: an
        // edge from the key to the value.
        var extra = new Dictionary<int, List<int>>();
        foreach ((ulong key, ulong value) in _dependents)
        {
            if (index.TryGetValue(key, out int from) && index.TryGetValue(value, out int to))
            {
                if (!extra.TryGetValue(from, out List<int>? list))
                {
                    list = [];
                    extra[from] = list;
                }

                list.Add(to);
            }
        }

        int[] edgeStarts = new int[count + 1];
        var targets = new List<int>(_edges.Count + _dependents.Count);
        int next = 0;
        for (int i = 0; i < count; i++)
        {
            edgeStarts[i] = targets.Count;
            int end = Math.Min(next + _edgeCounts[i], _edges.Count);
            for (; next < end; next++)
            {
                if (index.TryGetValue(_edges[next], out int target))
                {
                    targets.Add(target);
                }
            }

            if (extra.TryGetValue(i, out List<int>? dependents))
            {
                targets.AddRange(dependents);
            }
        }

        edgeStarts[count] = targets.Count;

        var rootNodes = new List<int>();
        var rootLabels = new List<string>();
        var rootRanks = new List<int>();
        foreach ((ulong address, ulong typeId, string field) in _statics)
        {
            if (index.TryGetValue(address, out int node))
            {
                rootNodes.Add(node);
                rootLabels.Add(StaticLabel(field, names.TryGetValue(typeId, out string? name) ? name : string.Empty, metadata));
                rootRanks.Add(StaticRank);
            }
        }

        foreach ((ulong address, string label, int rank) in _roots)
        {
            if (index.TryGetValue(address, out int node))
            {
                rootNodes.Add(node);
                rootLabels.Add(label);
                rootRanks.Add(rank);
            }
        }

        long[] sizes = [.. _sizes];
        Clear();
        return new HeapGraph([.. typeNames], nodeTypes, sizes, edgeStarts, [.. targets], [.. rootNodes], [.. rootLabels], [.. rootRanks]);
    }

    // The runtime names a static root's field but not the type that declares it: find the declaring type in the
    // modules' metadata, preferring fields whose declared type matches the object's.
    private static string StaticLabel(string field, string objectType, ModuleMetadata metadata)
    {
        (List<string> matching, List<string> others) = metadata.StaticFieldOwners(field, SimpleName(objectType));
        List<string> owners = matching.Count > 0 ? matching : others;
        return owners.Count switch
        {
            0 => $"static field {field}",
            1 => $"static field {owners[0]}.{field}",
            _ => $"static field {field} of one of {string.Join(", ", owners.Take(3))}{(owners.Count > 3 ? ", …" : string.Empty)}",
        };
    }

    private static string SimpleName(string typeName)
    {
        int bracket = typeName.IndexOf('[', StringComparison.Ordinal);
        string head = bracket < 0 ? typeName : typeName[..bracket];
        int cut = Math.Max(head.LastIndexOf('.'), head.LastIndexOf('+'));
        return head[(cut + 1)..];
    }
}
