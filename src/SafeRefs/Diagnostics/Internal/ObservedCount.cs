namespace SafeRefs.Diagnostics.Internal;

/// <summary>
/// One primitive's part of an observed up-down counter: the tag it is reported under and its current count, read by
/// <see cref="LiveCountSet.Observe"/> when a listener collects the instrument.
/// </summary>
internal abstract class ObservedCount
{
    private protected ObservedCount(KeyValuePair<string, object?> tag)
    {
        Tag = tag;
    }

    /// <summary>Gets the tag the count is reported under.</summary>
    internal KeyValuePair<string, object?> Tag { get; }

    /// <summary>Gets the current count.</summary>
    internal abstract long Count { get; }
}
