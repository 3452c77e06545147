using System.Globalization;
using System.Text;

namespace SafeRefs.Testing;

/// <summary>
/// One shortest chain of references from a GC root to instances of a leak suspect, shared by <see cref="Count"/> of
/// them: what keeps them alive.
/// </summary>
/// <remarks>
/// <para><b>Holds</b> only type names and a description of the root.</para>
/// <para><b>Thread safety:</b> immutable.</para>
/// </remarks>
public sealed class RetentionPath
{
    internal RetentionPath(long count, long bytes, IReadOnlyList<string> hops, string root)
    {
        Count = count;
        Bytes = bytes;
        Hops = hops;
        Root = root;
    }

    /// <summary>Gets the number of instances of the suspect whose shortest path from a root is this one.</summary>
    /// <value>At least 1.</value>
    public long Count { get; }

    /// <summary>Gets the shallow bytes of those instances.</summary>
    /// <value>The sum of their sizes.</value>
    public long Bytes { get; }

    /// <summary>
    /// Gets the types along the path, from the suspect's instance to the object the root references; a run of objects
    /// of one type (a linked list) is one hop ending in <c> (chain)</c>.
    /// </summary>
    /// <value>At least one name: the suspect's own type first.</value>
    public IReadOnlyList<string> Hops { get; }

    /// <summary>
    /// Gets the root, as precisely as the runtime names it: <c>static field Namespace.Type.Field</c>, a strong or pinned
    /// GC handle, a local variable on a thread's stack, the finalizer queue; or <c>no root found</c> when the walk
    /// reported none for these instances. A stack or the finalizer queue is named only when no static field or GC
    /// handle reaches the instances.
    /// </summary>
    /// <value>A description.</value>
    public string Root { get; }

    /// <summary>Returns the path, one line per hop, the instance first and the root last.</summary>
    /// <returns>The path.</returns>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{Count:N0} × {Hops[0]} ({Bytes:N0} B)");
        for (int i = 1; i < Hops.Count; i++)
        {
            text.AppendLine().Append("    ← ").Append(Hops[i]);
        }

        return text.AppendLine().Append("    ← ").Append(Root).ToString();
    }
}
