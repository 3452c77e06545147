namespace SafeRefs.Testing;

/// <summary>
/// Thrown when a heap snapshot cannot be taken: the platform has no diagnostic port, the process does not exist or
/// cannot be reached, permission is missing, or the heap walk did not finish in time. The message says why and what
/// to do; a leak hunt never passes silently without a snapshot.
/// </summary>
/// <remarks>
/// <para><b>Holds</b> only the message and the inner exception.</para>
/// <para><b>Thread safety:</b> immutable after construction.</para>
/// </remarks>
public sealed class HeapSnapshotException : Exception
{
    /// <summary>Initializes a new instance with a default message.</summary>
    public HeapSnapshotException()
        : this("A heap snapshot could not be taken.")
    {
    }

    /// <summary>Initializes a new instance with the given message.</summary>
    /// <param name="message">Why the snapshot failed and what to do.</param>
    public HeapSnapshotException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with the given message and inner exception.</summary>
    /// <param name="message">Why the snapshot failed and what to do.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public HeapSnapshotException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
