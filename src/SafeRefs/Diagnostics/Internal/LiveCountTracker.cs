namespace SafeRefs.Diagnostics.Internal;

/// <summary>
/// The part of an observed up-down counter (<c>saferefs.weak_event.handler.count</c>, <c>saferefs.timer.active</c>)
/// that one primitive counts. The primitive holds it in a field and a <see cref="LiveCountSet"/> finds it through a weak
/// table keyed by the primitive, so a primitive dropped without <c>Dispose</c> stops being observed when it is
/// collected: the sum cannot drift, and no finalizer is involved.
/// </summary>
internal sealed class LiveCountTracker : ObservedCount
{
    private long _count;

    internal LiveCountTracker(KeyValuePair<string, object?> tag)
        : base(tag)
    {
    }

    /// <inheritdoc/>
    internal override long Count => Interlocked.Read(ref _count);

    internal void Increment() => Interlocked.Increment(ref _count);

    internal void Decrement() => Interlocked.Decrement(ref _count);
}
