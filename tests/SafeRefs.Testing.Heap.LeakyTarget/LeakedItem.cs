namespace SafeRefs.Testing.Heap.LeakyTarget;

/// <summary>What the target leaks: a batch after every full collection, kept in a static list forever.</summary>
internal sealed class LeakedItem(int id)
{
    public int Id { get; } = id;
}
