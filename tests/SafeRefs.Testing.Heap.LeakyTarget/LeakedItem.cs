namespace SafeRefs.Testing.Heap.LeakyTarget;

/// <summary>What the target leaks: one instance per tick, kept in a static list forever.</summary>
internal sealed class LeakedItem(int id)
{
    public int Id { get; } = id;
}
