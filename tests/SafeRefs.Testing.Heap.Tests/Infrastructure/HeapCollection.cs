namespace SafeRefs.Testing.Heap.Tests.Infrastructure;

/// <summary>
/// Heap-snapshot tests: every snapshot forces full collections and counts every object of the process, so these never
/// run beside other tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeapCollection
{
    public const string Name = "Heap";
}
