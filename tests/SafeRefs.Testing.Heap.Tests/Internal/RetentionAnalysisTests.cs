using Microsoft.Diagnostics.Tracing.Parsers.Clr;
using SafeRefs.Testing.Internal;

namespace SafeRefs.Testing.Heap.Tests.Internal;

/// <summary>Which root a retention path names, on reference graphs built by hand.</summary>
public sealed class RetentionAnalysisTests
{
    private const ulong HolderType = 1;
    private const ulong ListType = 2;
    private const ulong ArrayType = 3;
    private const ulong LeakedType = 4;

    private static readonly Dictionary<ulong, string> Names = new()
    {
        [HolderType] = "Demo.Holder",
        [ListType] = "System.Collections.Generic.List`1[Demo.Leaked]",
        [ArrayType] = "Demo.Leaked[]",
        [LeakedType] = "Demo.Leaked",
    };

    [Fact]
    public void Paths_StackAlsoHoldsTheStaticListsArray_NamesTheStaticField()
    {
        // A static field keeps a list of leaked objects; at the moment of the walk a thread that is adding to the list
        // holds its array in a local. The stack's path is two hops shorter, but it lasts only while that call runs:
        // the path must name the field that keeps the objects for good.
        GraphBuilder builder = StaticList(leaked: 3);
        builder.AddRoot(0x300, GCRootKind.Stack, GCRootFlags.None);

        RetentionPath path = Assert.Single(new RetentionAnalysis(Build(builder)).Paths("Demo.Leaked", 3));

        Assert.Equal(["Demo.Leaked", "Demo.Leaked[]", "System.Collections.Generic.List`1[Demo.Leaked]", "Demo.Holder"], path.Hops);
        Assert.Equal("static field Items", path.Root);
        Assert.Equal(3, path.Count);
    }

    [Fact]
    public void Paths_OnlyAStackHoldsTheArray_NamesTheStack()
    {
        // Control: the same objects with no static field behind them are kept by the stack alone.
        var builder = new GraphBuilder();
        builder.AddNode(0x300, ArrayType, 48, 2);
        builder.AddEdge(0x400);
        builder.AddEdge(0x401);
        builder.AddNode(0x400, LeakedType, 24, 0);
        builder.AddNode(0x401, LeakedType, 24, 0);
        builder.AddRoot(0x300, GCRootKind.Stack, GCRootFlags.None);

        RetentionPath path = Assert.Single(new RetentionAnalysis(Build(builder)).Paths("Demo.Leaked", 3));

        Assert.Equal(["Demo.Leaked", "Demo.Leaked[]"], path.Hops);
        Assert.Equal("local variable on a thread's stack", path.Root);
    }

    [Fact]
    public void Paths_TwoStaticRootsAtDifferentDepths_NamesTheNearer()
    {
        // Among durable roots the shortest path still wins: a strong handle on the array beats the field's longer path.
        GraphBuilder builder = StaticList(leaked: 2);
        builder.AddRoot(0x300, GCRootKind.Handle, GCRootFlags.None);

        RetentionPath path = Assert.Single(new RetentionAnalysis(Build(builder)).Paths("Demo.Leaked", 3));

        Assert.Equal(["Demo.Leaked", "Demo.Leaked[]"], path.Hops);
        Assert.Equal("strong GC handle", path.Root);
    }

    // Demo.Holder (static field Items) -> List -> array -> `leaked` objects.
    private static GraphBuilder StaticList(int leaked)
    {
        var builder = new GraphBuilder();
        builder.AddNode(0x100, HolderType, 24, 1);
        builder.AddEdge(0x200);
        builder.AddNode(0x200, ListType, 32, 1);
        builder.AddEdge(0x300);
        builder.AddNode(0x300, ArrayType, 24 + (8 * leaked), leaked);
        for (int i = 0; i < leaked; i++)
        {
            builder.AddEdge(0x400 + (ulong)i);
        }

        for (int i = 0; i < leaked; i++)
        {
            builder.AddNode(0x400 + (ulong)i, LeakedType, 24, 0);
        }

        builder.AddStatic(0x100, HolderType, "Items");
        return builder;
    }

    private static HeapGraph Build(GraphBuilder builder)
    {
        using var metadata = new ModuleMetadata([]);
        return builder.Build(new Dictionary<ulong, string>(Names), metadata);
    }
}
