using SafeRefs.Diagnostics.Internal;
using SafeRefs.Internal;

namespace SafeRefs.Events.Internal;

/// <summary>
/// One weak handler list in the weak events' <see cref="PurgeRegistry"/>, so that dead entries of lists that are never
/// raised nor added to are bounded: each purge (after a gen-2 collection, on the thread pool) compacts the list.
/// </summary>
/// <remarks>
/// Holds the list weakly (the registry must not keep an event alive) and leaves the registry at the first purge that
/// finds it collected. A list whose compaction throws (a metric listener is user code) is logged and counted; the
/// purge goes on with the next item.
/// </remarks>
internal sealed class WeakHandlerPurger : IPurgeable
{
    private static readonly PurgeRegistry Registry = new();

    private readonly WeakReference<WeakHandlerList> _list;
    private readonly string? _name;

    private WeakHandlerPurger(WeakHandlerList list)
    {
        _list = new WeakReference<WeakHandlerList>(list);
        _name = list.Name;
    }

    /// <summary>Gets the number of purges finished so far (tests wait on it instead of sleeping).</summary>
    internal static long SweepsCompleted => Registry.PurgesCompleted;

    /// <summary>Gets the number of registered lists, collected ones included until the next purge (tests).</summary>
    internal static int RegisteredCount => Registry.Count;

    /// <inheritdoc/>
    public int RegistryIndex { get; set; } = -1;

    /// <summary>Registers a list that holds weak entries (once per list).</summary>
    internal static void Register(WeakHandlerList list) => Registry.Register(new WeakHandlerPurger(list));

    /// <summary>Compacts every registered list on the calling thread (also used by tests); never throws.</summary>
    internal static void Sweep() => _ = Registry.Purge(onOwnThread: false);

    /// <inheritdoc/>
    public bool TryPurge(bool onOwnThread)
    {
        if (!_list.TryGetTarget(out var list))
        {
            Registry.Unregister(this);
            return true;
        }

        list.Purge();
        return false;
    }

    /// <inheritdoc/>
    public void ReportPurgeFailed(Exception exception) => Metrics.BackgroundFailures.ReportSweepFailed(exception, _name);
}
