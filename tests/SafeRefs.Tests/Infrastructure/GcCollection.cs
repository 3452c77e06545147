namespace SafeRefs.Tests.Infrastructure;

/// <summary>GC-sensitive tests: full collections are process-wide, so these never run beside other tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GcCollection
{
    public const string Name = "GC";
}
