namespace SafeRefs.LeakLab.Tests;

/// <summary>Scenarios force full collections: never beside other tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GcCollection
{
    public const string Name = "GC";
}
