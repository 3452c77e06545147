namespace SafeRefs.Cli.Tests.Infrastructure;

/// <summary>Tests that take heap snapshots of child processes: run one at a time so their timings stay short and stable.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeapCollection
{
    public const string Name = "Heap";
}
