namespace SafeRefs.Internal;

/// <summary>The live listener count of one (source, event name) in one <see cref="SafeRefs.Subscriptions.ListenerBudget"/>.</summary>
/// <remarks>Holds no reference to the source: it lives in a <c>ConditionalWeakTable</c> keyed by the source.</remarks>
internal sealed class ListenerCount
{
    private int _count;
    private int _warned;

    public ListenerCount(string eventName)
    {
        EventName = eventName;
    }

    public string EventName { get; }

    public int Current => Volatile.Read(ref _count);

    /// <summary>Adds <paramref name="listeners"/> (negative: gives them back) in one step; returns the new count.</summary>
    public int Add(int listeners) => Interlocked.Add(ref _count, listeners);

    public void Decrement() => Interlocked.Decrement(ref _count);

    /// <summary>Returns <see langword="true"/> the first time only (Node's once-per-(emitter, event) warning).</summary>
    public bool TryMarkWarned() => Interlocked.Exchange(ref _warned, 1) == 0;
}
