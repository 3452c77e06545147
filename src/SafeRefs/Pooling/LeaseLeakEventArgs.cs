namespace SafeRefs.Pooling;

/// <summary>A pooled object came back with more listeners than it had when rented: someone attached behind the lease.</summary>
/// <typeparam name="T">The pooled type.</typeparam>
/// <remarks><b>Holds</b> the object strongly for as long as the arguments live; do not store them. <b>Thread safety:</b> immutable.</remarks>
public sealed class LeaseLeakEventArgs<T> : EventArgs
    where T : class
{
    /// <summary>Initializes a new instance of the <see cref="LeaseLeakEventArgs{T}"/> class.</summary>
    /// <param name="value">The pooled object.</param>
    /// <param name="countAtRent">The probe's count when rented.</param>
    /// <param name="countAtReturn">The probe's count when returned, after the lease's own listeners were detached.</param>
    /// <param name="discarded">Whether the object is discarded rather than returned to the pool.</param>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is <see langword="null"/>.</exception>
    public LeaseLeakEventArgs(T value, int countAtRent, int countAtReturn, bool discarded)
    {
        ArgumentNullException.ThrowIfNull(value);
        Value = value;
        CountAtRent = countAtRent;
        CountAtReturn = countAtReturn;
        Discarded = discarded;
    }

    /// <summary>Gets the pooled object.</summary>
    /// <value>The object being returned.</value>
    public T Value { get; }

    /// <summary>Gets the listener count when the object was rented.</summary>
    /// <value>From <see cref="GuardedObjectPoolOptions{T}.ListenerCountProbe"/>.</value>
    public int CountAtRent { get; }

    /// <summary>Gets the listener count at return, after the lease's tracked listeners were detached.</summary>
    /// <value>Greater than <see cref="CountAtRent"/>.</value>
    public int CountAtReturn { get; }

    /// <summary>Gets a value indicating whether the object is discarded instead of going back to the pool.</summary>
    /// <value><see langword="true"/> unless <see cref="GuardedObjectPoolOptions{T}.OnLeakSuspected"/> is <see cref="LeakAction.Warn"/>
    /// and the object is not discarded for another reason (a failed detach, token callback or add accessor of the lease).</value>
    public bool Discarded { get; }
}
