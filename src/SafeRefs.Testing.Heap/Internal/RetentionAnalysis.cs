namespace SafeRefs.Testing.Internal;

/// <summary>
/// Retention paths and retained bytes over a <see cref="HeapGraph"/>: a breadth-first search from the durable roots
/// (static fields, GC handles; the most telling first), continued from the transient ones (stacks, the finalizer
/// queue), gives each object a shortest path from the most durable kind of root that reaches it; a second search that
/// may not enter a suspect's instances tells what only they keep alive.
/// </summary>
internal sealed class RetentionAnalysis
{
    // Instances examined per type; beyond it the counts are of a sample, taken evenly.
    private const int MaxInstances = 20_000;

    // Hops followed up from one instance before the path is cut (with "…").
    private const int MaxHops = 10_000;

    private const string Chain = " (chain)";

    private const int Unvisited = -2;
    private const int IsRoot = -1;

    private readonly HeapGraph _graph;
    private readonly int[] _parent;
    private readonly int[] _rootOf;

    public RetentionAnalysis(HeapGraph graph)
    {
        _graph = graph;
        int n = graph.NodeCount;
        _parent = new int[n];
        _rootOf = new int[n];
        Array.Fill(_parent, Unvisited);
        int[] queue = new int[n];

        // Durable roots first: an object that a static field or a GC handle reaches gets its shortest path from one of
        // those, however short a path from a thread's stack is. A thread that happens to hold the leaking list (or
        // the event's invocation list) while the heap is walked must not hide the field that keeps it for good.
        // What no durable root reaches then gets its shortest path from the stacks and the finalizer queue.
        int[] roots = [.. Enumerable.Range(0, graph.RootNodes.Length).OrderBy(r => graph.RootRanks[r])];
        int durable = roots.Count(r => graph.RootRanks[r] <= GraphBuilder.LastDurableRank);
        int tail = Search(roots.AsSpan(0, durable), queue, head: 0, tail: 0);
        _ = Search(roots.AsSpan(durable), queue, head: tail, tail: tail);
    }

    // Breadth-first from the given roots over the objects not reached yet; returns the new end of the queue.
    private int Search(ReadOnlySpan<int> roots, int[] queue, int head, int tail)
    {
        foreach (int root in roots)
        {
            int node = _graph.RootNodes[root];
            if (_parent[node] == Unvisited)
            {
                _parent[node] = IsRoot;
                _rootOf[node] = root;
                queue[tail++] = node;
            }
        }

        for (; head < tail; head++)
        {
            int u = queue[head];
            for (int e = _graph.EdgeStarts[u]; e < _graph.EdgeStarts[u + 1]; e++)
            {
                int v = _graph.EdgeTargets[e];
                if (_parent[v] == Unvisited)
                {
                    _parent[v] = u;
                    queue[tail++] = v;
                }
            }
        }

        return tail;
    }

    /// <summary>Gives each suspect its top <paramref name="maxPaths"/> retention paths and its retained bytes.</summary>
    public static void Attach(IReadOnlyList<GrowingType> suspects, HeapGraph? graph, int maxPaths)
    {
        if (graph is null || maxPaths <= 0 || suspects.Count == 0)
        {
            return;
        }

        var analysis = new RetentionAnalysis(graph);
        foreach (GrowingType suspect in suspects)
        {
            suspect.SetRetention(analysis.Paths(suspect.TypeName, maxPaths), analysis.RetainedBytes(suspect.TypeName));
        }
    }

    /// <summary>
    /// The distinct shortest paths to the instances of <paramref name="typeName"/>, the path whose instances hold the
    /// most bytes first (for a list that grows, its one large array; for a leak of many objects, where most of them are).
    /// </summary>
    public List<RetentionPath> Paths(string typeName, int maxPaths)
    {
        int type = Array.IndexOf(_graph.TypeNames, typeName);
        var groups = new Dictionary<string, (long Count, long Bytes, List<string> Hops, string Root)>(StringComparer.Ordinal);
        if (type < 0 || maxPaths <= 0)
        {
            return [];
        }

        List<int> instances = Instances(type);
        int step = Math.Max(1, instances.Count / MaxInstances);
        var key = new System.Text.StringBuilder();
        for (int k = 0; k < instances.Count; k += step)
        {
            (List<string> hops, string root) = PathOf(instances[k]);
            // A chain of one object and a longer chain of the same type are one path.
            key.Clear().AppendJoin('\n', hops).Append('\n').Append(root).Replace(Chain, string.Empty);
            string signature = key.ToString();
            long bytes = _graph.NodeSizes[instances[k]] * step;
            groups[signature] = groups.TryGetValue(signature, out var group)
                ? (group.Count + step, group.Bytes + bytes, hops.Any(h => h.EndsWith(Chain, StringComparison.Ordinal)) ? hops : group.Hops, group.Root)
                : (step, bytes, hops, root);
        }

        return
        [
            .. groups.Values
                .OrderByDescending(g => g.Bytes)
                .ThenBy(g => g.Hops.Count)
                .Take(maxPaths)
                .Select(g => new RetentionPath(g.Count, g.Bytes, g.Hops, g.Root)),
        ];
    }

    /// <summary>
    /// The bytes that would be freed if nothing referenced the instances of <paramref name="typeName"/>: everything
    /// reachable from the roots only through them, the instances included.
    /// </summary>
    public long RetainedBytes(string typeName)
    {
        int type = Array.IndexOf(_graph.TypeNames, typeName);
        if (type < 0)
        {
            return 0;
        }

        int n = _graph.NodeCount;
        bool[] reached = new bool[n];
        int[] queue = new int[n];
        int tail = 0;
        foreach (int root in RootsByRank(_graph))
        {
            int node = _graph.RootNodes[root];
            if (!reached[node] && _graph.NodeTypes[node] != type)
            {
                reached[node] = true;
                queue[tail++] = node;
            }
        }

        for (int head = 0; head < tail; head++)
        {
            int u = queue[head];
            for (int e = _graph.EdgeStarts[u]; e < _graph.EdgeStarts[u + 1]; e++)
            {
                int v = _graph.EdgeTargets[e];
                if (!reached[v] && _graph.NodeTypes[v] != type)
                {
                    reached[v] = true;
                    queue[tail++] = v;
                }
            }
        }

        long bytes = 0;
        for (int i = 0; i < n; i++)
        {
            if (!reached[i] && _parent[i] != Unvisited)
            {
                bytes += _graph.NodeSizes[i];
            }
        }

        return bytes;
    }

    private static IEnumerable<int> RootsByRank(HeapGraph graph) =>
        Enumerable.Range(0, graph.RootNodes.Length).OrderBy(r => graph.RootRanks[r]);

    private List<int> Instances(int type)
    {
        var instances = new List<int>();
        for (int i = 0; i < _graph.NodeCount; i++)
        {
            if (_graph.NodeTypes[i] == type)
            {
                instances.Add(i);
            }
        }

        return instances;
    }

    // The hops from the instance up to the root's object, a run of one type folded into one "(chain)" hop.
    private (List<string> Hops, string Root) PathOf(int node)
    {
        var hops = new List<string>();
        int previousType = -1;
        bool chain = false;
        int current = node;
        for (int steps = 0; ; steps++)
        {
            if (_parent[current] == Unvisited)
            {
                Add(hops, _graph.NodeTypes[current], ref previousType, ref chain);
                return (hops, "no root found (the walk reported no root that reaches these instances)");
            }

            int type = _graph.NodeTypes[current];
            Add(hops, type, ref previousType, ref chain);
            if (_parent[current] == IsRoot)
            {
                return (hops, _graph.RootLabels[_rootOf[current]]);
            }

            if (steps >= MaxHops)
            {
                hops.Add("…");
                return (hops, "(path cut after 10,000 hops)");
            }

            current = _parent[current];
        }
    }

    private void Add(List<string> hops, int type, ref int previousType, ref bool chain)
    {
        if (type == previousType && hops.Count > 1)
        {
            if (!chain)
            {
                hops[^1] += Chain;
                chain = true;
            }

            return;
        }

        hops.Add(_graph.TypeNames[type]);
        previousType = type;
        chain = false;
    }
}
