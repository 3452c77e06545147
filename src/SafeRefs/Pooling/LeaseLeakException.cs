namespace SafeRefs.Pooling;

/// <summary>
/// Thrown when a pooled object comes back with more listeners than it had when rented and
/// <see cref="GuardedObjectPoolOptions{T}.OnLeakSuspected"/> is <see cref="LeakAction.Throw"/>; the object was discarded.
/// </summary>
/// <remarks><b>Holds</b> the object's type and the counts, never the object. <b>Thread safety:</b> immutable once thrown.</remarks>
public sealed class LeaseLeakException : InvalidOperationException
{
    /// <summary>Initializes a new instance of the <see cref="LeaseLeakException"/> class.</summary>
    public LeaseLeakException()
        : base("A pooled object was returned with listeners attached behind its lease.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="LeaseLeakException"/> class.</summary>
    /// <param name="message">The message.</param>
    public LeaseLeakException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="LeaseLeakException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public LeaseLeakException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="LeaseLeakException"/> class.</summary>
    /// <param name="objectType">The pooled type.</param>
    /// <param name="countAtRent">The listener count when rented.</param>
    /// <param name="countAtReturn">The listener count when returned.</param>
    public LeaseLeakException(Type? objectType, int countAtRent, int countAtReturn)
        : base($"A pooled {objectType?.Name ?? "object"} came back with {countAtReturn} listeners, {countAtReturn - countAtRent} more than when rented: something attached behind the lease (possible listener leak). The object was discarded.")
    {
        ObjectType = objectType;
        CountAtRent = countAtRent;
        CountAtReturn = countAtReturn;
    }

    /// <summary>Gets the pooled type.</summary>
    /// <value><see langword="null"/> when created without one.</value>
    public Type? ObjectType { get; }

    /// <summary>Gets the probe's count when the object was rented.</summary>
    /// <value>0 when unknown.</value>
    public int CountAtRent { get; }

    /// <summary>Gets the probe's count when the object was returned.</summary>
    /// <value>0 when unknown.</value>
    public int CountAtReturn { get; }
}
