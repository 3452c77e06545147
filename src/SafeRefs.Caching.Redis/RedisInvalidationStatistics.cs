namespace SafeRefs.Caching.Redis;

/// <summary>A snapshot of a <see cref="RedisInvalidationChannel"/>'s counters since it was created.</summary>
/// <remarks>
/// <para><b>Holds</b> only numbers.</para>
/// <para><b>Thread safety:</b> immutable. Each counter is read atomically, the set is not one atomic snapshot.</para>
/// </remarks>
public sealed class RedisInvalidationStatistics
{
    internal RedisInvalidationStatistics(long published, long publishFailures, long received, long ignoredOwn, long applied, long applyFailures, long resyncs)
    {
        Published = published;
        PublishFailures = publishFailures;
        Received = received;
        IgnoredOwn = ignoredOwn;
        Applied = applied;
        ApplyFailures = applyFailures;
        Resyncs = resyncs;
    }

    /// <summary>Gets the number of messages this instance published.</summary>
    /// <value>A count.</value>
    public long Published { get; }

    /// <summary>Gets the number of messages this instance could not publish (Redis unreachable, timeout).</summary>
    /// <value>A count.</value>
    public long PublishFailures { get; }

    /// <summary>Gets the number of messages received from other instances.</summary>
    /// <value>A count.</value>
    public long Received { get; }

    /// <summary>Gets the number of this instance's own messages it received back and ignored.</summary>
    /// <value>A count.</value>
    public long IgnoredOwn { get; }

    /// <summary>Gets the number of messages from other instances applied to the local cache.</summary>
    /// <value>A count.</value>
    public long Applied { get; }

    /// <summary>Gets the number of messages whose application failed (logged, never thrown).</summary>
    /// <value>A count.</value>
    public long ApplyFailures { get; }

    /// <summary>Gets the number of times the local cache was cleared because invalidations may have been missed.</summary>
    /// <value>A count.</value>
    public long Resyncs { get; }
}
