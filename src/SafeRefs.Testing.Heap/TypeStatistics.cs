using System.Globalization;

namespace SafeRefs.Testing;

/// <summary>The live instances of one type in a <see cref="HeapSnapshot"/>: how many and how many bytes.</summary>
/// <remarks>
/// <para><b>Holds</b> only the name strings and two numbers; never a reference to the objects counted.</para>
/// <para><b>Thread safety:</b> immutable.</para>
/// </remarks>
public sealed class TypeStatistics
{
    internal TypeStatistics(string name, string assembly, long count, long bytes)
    {
        Name = name;
        Assembly = assembly;
        Count = count;
        Bytes = bytes;
    }

    /// <summary>Gets the type's name as the runtime's heap walk reports it.</summary>
    /// <value>
    /// The form of <see cref="Type.ToString"/>: namespace-qualified with generic arguments in brackets
    /// (<c>System.Collections.Generic.List`1[MyApp.Order]</c>), nested types after their declaring types
    /// (<c>MyApp.Outer+Inner</c>, <c>MyApp.Owner+&lt;&gt;c__DisplayClass5_0</c>). Distinct types never share a name
    /// in one snapshot: if two would (the same type loaded twice), the later ones end in <c> (#2)</c>, <c> (#3)</c>.
    /// <see cref="HeapSnapshot.NameOf(Type)"/> gives the same form for a <see cref="Type"/>.
    /// </value>
    public string Name { get; }

    /// <summary>Gets the simple name of the assembly that defines the type (for arrays and generic types, the one the runtime reports).</summary>
    /// <value>For example <c>System.Private.CoreLib</c>; empty when the runtime did not name the module.</value>
    public string Assembly { get; }

    /// <summary>Gets the number of live instances.</summary>
    /// <value>Zero or more.</value>
    public long Count { get; }

    /// <summary>Gets the total size of the live instances in bytes (shallow sizes: each object itself, not what it references).</summary>
    /// <value>Zero or more.</value>
    public long Bytes { get; }

    /// <summary>Returns <c>name: count objects, bytes B</c>.</summary>
    /// <returns>A one-line description.</returns>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Name}: {Count:N0} objects, {Bytes:N0} B");
}
