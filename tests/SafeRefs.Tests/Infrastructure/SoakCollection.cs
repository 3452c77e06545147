namespace SafeRefs.Tests.Infrastructure;

/// <summary>Multi-threaded soak tests: bounded iterations, never beside other tests (the machines have 2 cores).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SoakCollection
{
    public const string Name = "Soak";
}
