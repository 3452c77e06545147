namespace SafeRefs.LeakLab;

/// <summary>The managed heap after a full collection, at one iteration.</summary>
internal sealed record HeapSample(int Iteration, long HeapBytes);
