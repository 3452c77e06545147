namespace SafeRefs.Testing.Internal;

/// <summary>What one complete heap walk produced: per-type statistics, and the reference graph when it was asked for.</summary>
internal sealed record WalkResult(IReadOnlyList<TypeStatistics> Types, HeapGraph? Graph);
