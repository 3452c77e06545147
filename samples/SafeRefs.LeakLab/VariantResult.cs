namespace SafeRefs.LeakLab;

/// <summary>What one variant of a scenario left behind, measured in its own process.</summary>
internal sealed record VariantResult(
    Variant Variant,
    IReadOnlyList<HeapSample> Samples,
    int Tracked,
    int Retained,
    string? Note = null)
{
    /// <summary>The heap after a full collection before the first iteration (0 without samples).</summary>
    public long HeapStartBytes => Samples.Count == 0 ? 0 : Samples[0].HeapBytes;

    /// <summary>The heap after a full collection after the last iteration (0 without samples).</summary>
    public long HeapEndBytes => Samples.Count == 0 ? 0 : Samples[^1].HeapBytes;

    public long HeapGrowthBytes => HeapEndBytes - HeapStartBytes;
}
