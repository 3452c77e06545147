namespace SafeRefs.LeakLab;

/// <summary>What one variant of a scenario left behind.</summary>
internal sealed record VariantResult(
    Variant Variant,
    IReadOnlyList<HeapSample> Samples,
    int Tracked,
    int Retained,
    string? Note = null)
{
    public long HeapGrowthBytes => Samples.Count < 2 ? 0 : Samples[^1].HeapBytes - Samples[0].HeapBytes;
}
