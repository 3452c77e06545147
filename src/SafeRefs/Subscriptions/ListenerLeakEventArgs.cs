namespace SafeRefs.Subscriptions;

/// <summary>Describes a listener count that went above its limit: a possible listener leak.</summary>
/// <remarks>
/// <para><b>Holds</b> the source strongly, for as long as the arguments object itself lives; do not store it.</para>
/// <para><b>Thread safety:</b> immutable. <b>Dispose:</b> not disposable.</para>
/// </remarks>
public sealed class ListenerLeakEventArgs : EventArgs
{
    /// <summary>Initializes a new instance of the <see cref="ListenerLeakEventArgs"/> class.</summary>
    /// <param name="source">The object whose event has too many listeners.</param>
    /// <param name="eventName">The event's name.</param>
    /// <param name="count">The listener count that went above the limit.</param>
    /// <param name="maxListeners">The limit.</param>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="eventName"/> is <see langword="null"/>.</exception>
    public ListenerLeakEventArgs(object source, string eventName, int count, int maxListeners)
        : this(source, source?.GetType()!, eventName, count, maxListeners)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ListenerLeakEventArgs"/> class that names another type than the source's own.</summary>
    /// <param name="source">The object whose event has too many listeners.</param>
    /// <param name="sourceType">The type named in reports: for a weak event, the class that declares it.</param>
    /// <param name="eventName">The event's name.</param>
    /// <param name="count">The listener count that went above the limit.</param>
    /// <param name="maxListeners">The limit.</param>
    /// <exception cref="ArgumentNullException"><paramref name="source"/>, <paramref name="sourceType"/> or
    /// <paramref name="eventName"/> is <see langword="null"/>.</exception>
    public ListenerLeakEventArgs(object source, Type sourceType, string eventName, int count, int maxListeners)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(sourceType);
        ArgumentNullException.ThrowIfNull(eventName);
        Source = source;
        SourceType = sourceType;
        EventName = eventName;
        Count = count;
        MaxListeners = maxListeners;
    }

    /// <summary>Gets the object whose event has too many listeners.</summary>
    /// <value>The event source: for a weak event, the <c>WeakEvent</c> object (the budget counts per event object).</value>
    public object Source { get; }

    /// <summary>Gets the type named in reports.</summary>
    /// <value>The source's type, or for a weak event whose options set <see cref="Events.WeakEventOptions.DeclaringType"/>,
    /// the class that declares the event.</value>
    public Type SourceType { get; }

    /// <summary>Gets the event's name.</summary>
    /// <value>The member name when it could be read from the <c>add</c> expression, otherwise the name given.</value>
    public string EventName { get; }

    /// <summary>Gets the listener count that went above the limit.</summary>
    /// <value>Always greater than <see cref="MaxListeners"/>.</value>
    public int Count { get; }

    /// <summary>Gets the limit that was exceeded.</summary>
    /// <value>A positive number.</value>
    public int MaxListeners { get; }
}
