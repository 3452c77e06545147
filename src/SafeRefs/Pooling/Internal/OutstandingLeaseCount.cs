using SafeRefs.Diagnostics.Internal;

namespace SafeRefs.Pooling.Internal;

/// <summary>
/// One pool's part of <c>saferefs.pool.lease.outstanding</c>: read from the pool's own rented and returned counters when
/// a listener collects, so it is exact however late the listener attached. Registered weakly under the pool.
/// </summary>
/// <typeparam name="T">The pooled type.</typeparam>
internal sealed class OutstandingLeaseCount<T> : ObservedCount
    where T : class
{
    private readonly GuardedObjectPool<T> _pool;

    internal OutstandingLeaseCount(GuardedObjectPool<T> pool)
        : base(Metrics.PoolInstruments.TypeTag(typeof(T)))
    {
        _pool = pool;
    }

    /// <inheritdoc/>
    internal override long Count => _pool.Statistics.Outstanding;
}
