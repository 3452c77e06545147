namespace SafeRefs.Testing.Internal;

/// <summary>
/// The reference graph of one heap walk, in compact arrays: per object its type and size, its outgoing references
/// (compressed rows), and the GC roots with a description of each: about 16 bytes per object plus 4 per reference.
/// </summary>
internal sealed class HeapGraph
{
    public HeapGraph(
        string[] typeNames,
        int[] nodeTypes,
        long[] nodeSizes,
        int[] edgeStarts,
        int[] edgeTargets,
        int[] rootNodes,
        string[] rootLabels,
        int[] rootRanks)
    {
        TypeNames = typeNames;
        NodeTypes = nodeTypes;
        NodeSizes = nodeSizes;
        EdgeStarts = edgeStarts;
        EdgeTargets = edgeTargets;
        RootNodes = rootNodes;
        RootLabels = rootLabels;
        RootRanks = rootRanks;
    }

    /// <summary>Gets the snapshot name of each type index.</summary>
    public string[] TypeNames { get; }

    /// <summary>Gets the type index of each object.</summary>
    public int[] NodeTypes { get; }

    /// <summary>Gets the shallow size of each object.</summary>
    public long[] NodeSizes { get; }

    /// <summary>Gets, per object, where its references start in <see cref="EdgeTargets"/> (one more entry than objects).</summary>
    public int[] EdgeStarts { get; }

    /// <summary>Gets the referenced objects, row by row.</summary>
    public int[] EdgeTargets { get; }

    /// <summary>Gets the objects referenced directly by a root.</summary>
    public int[] RootNodes { get; }

    /// <summary>Gets the description of each root (for example <c>static field Demo.Feed.Changed</c>).</summary>
    public string[] RootLabels { get; }

    /// <summary>Gets the precedence of each root when several reach an object equally fast: lower is named first.</summary>
    public int[] RootRanks { get; }

    public int NodeCount => NodeTypes.Length;
}
