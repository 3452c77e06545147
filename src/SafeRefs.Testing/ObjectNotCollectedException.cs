namespace SafeRefs.Testing;

/// <summary>
/// Thrown by <see cref="GcAssert"/> and <see cref="LeakTracker"/> when an object that should have been collected
/// is still alive after forced full collections, or when a control object expected to stay alive was collected.
/// </summary>
/// <remarks>
/// <para><b>Holds</b> only strings: never a reference to the surviving objects, so catching it keeps nothing alive.</para>
/// <para><b>Thread safety:</b> immutable after construction.</para>
/// </remarks>
public sealed class ObjectNotCollectedException : Exception
{
    /// <summary>Initializes a new instance with a default message.</summary>
    public ObjectNotCollectedException()
        : this("An object that was expected to be collected is still alive.")
    {
    }

    /// <summary>Initializes a new instance with the given message.</summary>
    /// <param name="message">Names the object(s) that stayed alive.</param>
    public ObjectNotCollectedException(string message)
        : base(message)
    {
        Survivors = [];
    }

    /// <summary>Initializes a new instance with the given message and inner exception.</summary>
    /// <param name="message">Names the object(s) that stayed alive.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public ObjectNotCollectedException(string message, Exception innerException)
        : base(message, innerException)
    {
        Survivors = [];
    }

    /// <summary>Initializes a new instance that lists the labels of the survivors.</summary>
    /// <param name="message">Names the object(s) that stayed alive.</param>
    /// <param name="survivors">Labels of the objects that stayed alive.</param>
    public ObjectNotCollectedException(string message, IReadOnlyList<string> survivors)
        : base(message)
    {
        ArgumentNullException.ThrowIfNull(survivors);
        Survivors = survivors;
    }

    /// <summary>Gets the labels of the objects that stayed alive (empty when not known).</summary>
    /// <value>Labels as given to <see cref="LeakTracker.Track(object, string?)"/>, or a type description.</value>
    public IReadOnlyList<string> Survivors { get; }
}
