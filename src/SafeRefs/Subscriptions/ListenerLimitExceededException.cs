namespace SafeRefs.Subscriptions;

/// <summary>
/// Thrown by a <see cref="ListenerBudget"/> whose <see cref="ListenerBudget.OnExceeded"/> is
/// <see cref="ListenerBudgetAction.Throw"/> instead of attaching one listener too many.
/// </summary>
/// <remarks>
/// <para><b>Holds</b> the source's type and the event name, never the source itself.</para>
/// <para><b>Thread safety:</b> immutable once thrown.</para>
/// </remarks>
public sealed class ListenerLimitExceededException : InvalidOperationException
{
    /// <summary>Initializes a new instance of the <see cref="ListenerLimitExceededException"/> class.</summary>
    public ListenerLimitExceededException()
        : base("A listener budget refused one listener too many.")
    {
        EventName = string.Empty;
    }

    /// <summary>Initializes a new instance of the <see cref="ListenerLimitExceededException"/> class.</summary>
    /// <param name="message">The message.</param>
    public ListenerLimitExceededException(string message)
        : base(message)
    {
        EventName = string.Empty;
    }

    /// <summary>Initializes a new instance of the <see cref="ListenerLimitExceededException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ListenerLimitExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
        EventName = string.Empty;
    }

    /// <summary>Initializes a new instance of the <see cref="ListenerLimitExceededException"/> class.</summary>
    /// <param name="sourceType">The type of the event source.</param>
    /// <param name="eventName">The event's name.</param>
    /// <param name="count">The count the listener would have made.</param>
    /// <param name="maxListeners">The limit.</param>
    public ListenerLimitExceededException(Type? sourceType, string eventName, int count, int maxListeners)
        : base($"Refused a listener that would make {count} listeners on {sourceType?.Name ?? "?"}.{eventName}: the limit is {maxListeners}. Dispose the subscriptions you no longer need (possible listener leak).")
    {
        SourceType = sourceType;
        EventName = eventName ?? string.Empty;
        Count = count;
        MaxListeners = maxListeners;
    }

    /// <summary>Gets the type of the event source.</summary>
    /// <value><see langword="null"/> when the exception was created without one.</value>
    public Type? SourceType { get; }

    /// <summary>Gets the event's name.</summary>
    /// <value>Empty when the exception was created without one.</value>
    public string EventName { get; }

    /// <summary>Gets the listener count the refused listener would have made.</summary>
    /// <value>Greater than <see cref="MaxListeners"/>, or 0 when unknown.</value>
    public int Count { get; }

    /// <summary>Gets the limit.</summary>
    /// <value>The budget's <see cref="ListenerBudget.MaxListeners"/> at the time, or 0 when unknown.</value>
    public int MaxListeners { get; }
}
