using SafeRefs.Diagnostics.Internal;

namespace SafeRefs.Pooling.Internal;

/// <summary>
/// One pool's part of <c>saferefs.pool.lease.outstanding</c>: read from the pool's own rented and returned counters when
/// a listener collects, so it is exact however late the listener attached. Registered weakly under the pool.
/// </summary>
/// <typeparam name="T">The pooled type.</typeparam>
internal sealed class OutstandingLeaseCount<T>(GuardedObjectPool<T> pool) : ObservedCount(Metrics.PoolInstruments.TypeTag(typeof(T)))
    where T : class
{
    /// <inheritdoc/>
    internal override long Count => pool.Statistics.Outstanding;
}
