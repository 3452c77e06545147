namespace SafeRefs.Internal;

/// <summary>
/// The library's purge registries and its one gen-2 callback: every registered <see cref="IPurgeable"/> is checked after
/// each full (generation 2) collection, on the thread pool, and on a registering thread once the registrations since
/// the last purge reach the number of registered items (at least 256), so the work stays proportional to the
/// registrations. Weak links (Subscriptions) and weak handler lists (Events) each have one instance.
/// </summary>
/// <remarks>
/// A <see cref="Lock"/> guards a list of items; each item knows its index, so leaving is a swap-remove. A purge copies
/// the items under the lock and checks them outside it: no user code runs under the lock, and purges may overlap,
/// because each item is detached exactly once, by the caller that claims it. An exception an item lets escape is
/// reported through the item and the purge goes on with the next one. Holds the items strongly until they leave.
/// </remarks>
internal sealed class PurgeRegistry
{
    private const int MinPurgeInterval = 256;

    private static readonly Lock AfterGen2Lock = new();
    private static PurgeRegistry[] _afterGen2 = [];

    private readonly Lock _lock = new();
    private readonly List<Entry> _items = [];
    private int _countedCount;
    private int _registeredSincePurge;
    private long _purgesCompleted;

    /// <summary>Initializes a new instance of the <see cref="PurgeRegistry"/> class.</summary>
    /// <param name="purgeAfterGen2"><see langword="false"/> for tests: purges run only when called or every so many registrations.</param>
    internal PurgeRegistry(bool purgeAfterGen2 = true)
    {
        if (!purgeAfterGen2)
        {
            return;
        }

        lock (AfterGen2Lock)
        {
            if (_afterGen2.Length == 0)
            {
                _ = new Gen2Sentinel();
            }

            _afterGen2 = [.. _afterGen2, this];
        }
    }

    /// <summary>Test seam: called on the thread pool by each gen-2 purge before it purges any registry, so that a test
    /// can hold those purges; <see langword="null"/> outside tests.</summary>
    internal static Action? Gen2PurgeHook { get; set; }

    /// <summary>Gets the number of registered items.</summary>
    internal int Count
    {
        get
        {
            lock (_lock)
            {
                return _items.Count;
            }
        }
    }

    /// <summary>Gets the number of items registered as counted: a metric's live count, kept under the registering lock.</summary>
    internal int CountedCount => Volatile.Read(ref _countedCount);

    /// <summary>Gets the number of purges finished so far (tests wait on it instead of sleeping).</summary>
    internal long PurgesCompleted => Interlocked.Read(ref _purgesCompleted);

    /// <summary>
    /// Registers an item, <paramref name="counted"/> in <see cref="CountedCount"/> until it leaves (pass the same to
    /// <see cref="Unregister"/>); may then purge on the calling thread (never throws for another item's failure).
    /// </summary>
    internal void Register(IPurgeable item, bool counted = false)
    {
        bool purge;
        lock (_lock)
        {
            item.RegistryIndex = _items.Count;
            _items.Add(new Entry(item));
            _countedCount += counted ? 1 : 0;
            purge = ++_registeredSincePurge >= Math.Max(MinPurgeInterval, _items.Count);
            if (purge)
            {
                _registeredSincePurge = 0;
            }
        }

        if (purge)
        {
            _ = Purge(onOwnThread: true);
        }
    }

    /// <summary>Removes an item (no-op when it was never registered or already removed).</summary>
    internal void Unregister(IPurgeable item, bool counted = false)
    {
        lock (_lock)
        {
            var index = item.RegistryIndex;
            if (index < 0)
            {
                return;
            }

            var last = _items[^1];
            _items[index] = last;
            last.Item.RegistryIndex = index;
            _items.RemoveAt(_items.Count - 1);
            item.RegistryIndex = -1;
            _countedCount -= counted ? 1 : 0;
            if (_items.Capacity > 64 && _items.Count < _items.Capacity / 4)
            {
                _items.Capacity /= 2;
            }
        }
    }

    /// <summary>Purges every registered item; never throws.</summary>
    /// <param name="onOwnThread"><see langword="false"/> for the thread-pool purge (see <see cref="IPurgeable.TryPurge"/>).</param>
    /// <returns>The number of items this purge detached.</returns>
    internal int Purge(bool onOwnThread = true)
    {
        Entry[] items;
        lock (_lock)
        {
            items = [.. _items];
        }

        var detached = 0;
        foreach (var entry in items)
        {
            var item = entry.Item;
            try
            {
                detached += item.TryPurge(onOwnThread) ? 1 : 0;
            }
#pragma warning disable CA1031 // One item's failure (a throwing metric listener) must not stop the purge.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                item.ReportPurgeFailed(ex);
            }
        }

        Interlocked.Increment(ref _purgesCompleted);
        return detached;
    }

    /// <summary>A registered item: storing a struct skips the covariance check a store into an interface array pays.</summary>
    private readonly record struct Entry(IPurgeable Item);

    /// <summary>
    /// The library's one gen-2 callback: a finalizable object that nothing references and that re-registers itself, so
    /// it is found unreachable (and finalized) once per collection of the generation it lives in, generation 2 after its
    /// first collections. The finalizer only queues the purges (which never throw) on the thread pool.
    /// </summary>
    private sealed class Gen2Sentinel
    {
        ~Gen2Sentinel()
        {
            ThreadPool.UnsafeQueueUserWorkItem(static _ => PurgeAfterGen2(), null);
            GC.ReRegisterForFinalize(this);
        }

        private static void PurgeAfterGen2()
        {
            Gen2PurgeHook?.Invoke();
            foreach (var registry in Volatile.Read(ref _afterGen2))
            {
                _ = registry.Purge(onOwnThread: false);
            }
        }
    }
}
